"""What a type checker makes of ``botwo.client`` and ``botwo.resource``: mypy over tests/typing/.

Each file there describes one environment of the caller's (boto3's S3 stubs from one family,
the other, or none) and is checked in it, made from the one this runs in by hiding the stub
packages that it lacks: mypy's ``follow_imports = "skip"`` makes an installed module ``Any``,
as a missing one is. The errors mypy reports in a file must be exactly those that its
``# error: CODE`` comments mark, on those lines; a file without marks must type-check.
"""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TYPING = ROOT / "tests" / "typing"

# scenario: (files checked, stub packages hidden from mypy, stub packages needed)
SCENARIOS = {
    "mypy-boto3-s3": (
        ("check_mypy_boto3_s3.py", "check_mypy_boto3_s3_errors.py"),
        ("types_boto3_s3",),
        ("mypy_boto3_s3",),
    ),
    "types-boto3-s3": (("check_types_boto3_s3.py",), ("mypy_boto3_s3",), ("types_boto3_s3",)),
    "no stubs": (("check_no_stubs.py",), ("mypy_boto3_s3", "types_boto3_s3"), ()),
}

MARK = re.compile(r"#\s*error:\s*([a-z-]+(?:\s*,\s*[a-z-]+)*)")
ERROR = re.compile(r"^(?P<path>.+?):(?P<line>\d+): error: .*\[(?P<code>[a-z-]+)\]$")


def _config(tmp_path: Path, hidden: tuple[str, ...]) -> Path:
    """The project's mypy configuration, less its targets, with ``hidden`` made ``Any``."""
    mypy = dict(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"])
    overrides = list(mypy.pop("overrides", []))
    mypy.pop("packages", None)
    mypy.pop("files", None)
    if hidden:
        modules = [name for package in hidden for name in (package, f"{package}.*")]
        # follow_imports_for_stubs: the stub packages are all .pyi, which mypy follows anyway.
        overrides.append({"module": modules, "follow_imports": "skip", "follow_imports_for_stubs": True})
    # JSON's strings, booleans and lists of strings are TOML's too.
    lines = ["[tool.mypy]", *(f"{key} = {json.dumps(value)}" for key, value in mypy.items())]
    for override in overrides:
        lines.append("[[tool.mypy.overrides]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in override.items()]
    path = tmp_path / "pyproject.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _marked(path: Path) -> set[tuple[str, int, str]]:
    out = set()
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if match := MARK.search(line):
            out |= {(path.name, number, code.strip()) for code in match.group(1).split(",")}
    return out


def test_every_file_is_checked() -> None:
    checked = {name for files, _hidden, _needed in SCENARIOS.values() for name in files}
    assert {p.name for p in TYPING.glob("*.py")} == checked


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_types(scenario: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files, hidden, needed = SCENARIOS[scenario]
    missing = [name for name in ("mypy", *needed) if importlib.util.find_spec(name) is None]
    if missing:
        stubs = " ".join(name.replace("_", "-") for name in needed) or "mypy-boto3-s3"
        pytest.skip(f"needs {', '.join(missing)}: pip install mypy {stubs}")
    from mypy import api

    # botwo is found from the working directory, as in `nox -s lint` (an editable install's
    # import hook is invisible to mypy).
    monkeypatch.chdir(ROOT)
    paths = [TYPING / name for name in files]
    stdout, stderr, status = api.run(
        [
            "--config-file",
            str(_config(tmp_path, hidden)),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--no-pretty",
            "--show-error-codes",
            "--no-error-summary",
            *(str(p.relative_to(ROOT)) for p in paths),
        ]
    )
    assert status in (0, 1) and not stderr, stdout + stderr
    names = {str(p.relative_to(ROOT)): p.name for p in paths}
    reported = {
        (names[m["path"]], int(m["line"]), m["code"])
        for m in map(ERROR.match, stdout.splitlines())
        if m is not None and m["path"] in names
    }
    expected = set().union(*(_marked(p) for p in paths))
    assert sorted(reported) == sorted(expected), stdout
