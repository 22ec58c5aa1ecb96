"""``botwo demo`` and the command line around it."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from botwo import _demo
from botwo.__main__ import main

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "botwo", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        check=False,
    )


def _assert_routing_facts(output: str) -> None:
    lines = output.splitlines()

    def line_with(*parts: str) -> str:
        found = [line for line in lines if all(p in line for p in parts)]
        assert found, f"no line with {parts} in:\n{output}"
        return found[0]

    # Each server checks its own credentials.
    line_with("lakefs's access key with s3's secret: SignatureDoesNotMatch (HTTP 403)")
    # The design's example: caller example-old-bucket/test/object.txt is lakeFS example-repo/main/...
    line_with("example-old-bucket/test/object.txt", "lakefs", "example-repo/main/test/object.txt")
    line_with("bucket-a/reports/2024.csv", "lakefs", "bucket-a/dev/reports/2024.csv")
    line_with("test-bucket/test/object.txt", "s3", "test-bucket/test/object.txt")
    # The partial move: only data/raw/ goes to lakeFS, with the prefix stripped.
    line_with("data/raw/events-003.json", "lakefs", "data-lake/main/events-003.json")
    line_with("data/clean/summary.csv", "s3", "data/clean/summary.csv")
    # The operations the user's code runs, each answered in caller names.
    line_with("CommonPrefixes ['test/sub/']")
    line_with("page 3: ['raw/events-005.json']")
    line_with("one listing, CommonPrefixes ['clean/', 'raw/']")
    line_with("Callback counted 12,582,912 bytes", "3 parts")
    line_with("example-repo/main/test/object-copy.txt")
    line_with("streamed from lakefs example-repo/main/test/object.txt to s3", "checked")
    line_with("Deleted ['raw/events-001.json', 'raw/events-002.json']")
    line_with("NoSuchKey", "Key='test/missing.txt'")
    line_with("urlopen(url): HTTP 200")
    # The final comparison: the deleted objects are gone from both views, everything matched.
    final = lines[lines.index(line_with("4. What the caller sees")) :]
    assert not [line for line in final if "events-001" in line or "events-002" in line]
    assert [line for line in final if "example-repo/main/models/weights.bin" in line]
    line_with("11 objects seen by the caller", "11 matched one to one")
    assert "!! unexpected" not in output
    assert lines[-1].startswith("OK")


def test_demo_subprocess() -> None:
    result = _run("demo", env={"NO_COLOR": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    _assert_routing_facts(result.stdout)
    assert "\033[" not in result.stdout
    width = max(len(line) for line in result.stdout.splitlines())
    assert width <= 110, f"a line of {width} characters"


def test_demo_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    captured = capsys.readouterr()
    _assert_routing_facts(captured.out)
    assert "\033[" not in captured.out  # captured output is not a terminal


def test_servers_stop_on_interrupt(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import botwo.testing

    started: list[subprocess.Popen[bytes]] = []

    class Recorded(botwo.testing.LocalS3Server):
        def start(self, timeout: float = 30.0) -> botwo.testing.LocalS3Server:
            super().start(timeout)
            assert self._process is not None
            started.append(self._process)
            return self

    def interrupt(self: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(botwo.testing, "LocalS3Server", Recorded)
    monkeypatch.setattr(_demo._Demo, "upload", interrupt)
    assert main(["demo"]) == 130
    captured = capsys.readouterr()
    assert "interrupted" in captured.err
    assert "Callback counted" not in captured.out
    assert len(started) == 2
    assert all(process.poll() is not None for process in started)


def test_color_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    assert _demo.use_color(Tty())
    assert not _demo.use_color(io.StringIO())
    assert _demo.use_color(io.StringIO(), "always")
    assert not _demo.use_color(Tty(), "never")
    monkeypatch.setenv("NO_COLOR", "1")
    assert not _demo.use_color(Tty())


def test_demo_without_moto(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "moto.server", None)  # as if moto[server] were not installed
    assert main(["demo"]) == 1
    captured = capsys.readouterr()
    assert 'pip install "botwo[demo]"' in captured.err
    assert captured.out == ""


def test_no_subcommand_prints_help_and_exits_2() -> None:
    result = _run()
    assert result.returncode == 2
    assert "usage: botwo" in result.stderr
    assert "demo" in result.stderr


def test_main_without_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "demo" in capsys.readouterr().err


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("botwo ")
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--help"])
    assert exit_info.value.code == 0
    assert "botwo[demo]" in capsys.readouterr().out
