"""Every script in examples/ runs to completion against real local S3 servers.

The examples assert what they demonstrate, so a regression makes them exit non-zero.
They are run as a user would run them: ``python examples/<name>.py`` in a subprocess,
pointed at the ``s3`` and ``lake`` fixture servers through the ``BOTWO_EXAMPLE_*``
environment variables, and once standalone (the example starts its own servers).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from botwo.testing import LocalS3Server

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
EXAMPLES = sorted(p for p in EXAMPLES_DIR.glob("*.py") if not p.name.startswith("_"))
ENV_PREFIX = "BOTWO_EXAMPLE_"


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}


def _run(script: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        cwd=EXAMPLES_DIR.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _report(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit code {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def test_examples_are_found() -> None:
    names = {p.name for p in EXAMPLES}
    assert {
        "lakefs_migration.py",
        "partial_move.py",
        "errors.py",
        "transfers.py",
        "presigned.py",
        "paginate.py",
        "fallback_readonly.py",
        "config.py",
        "introspection.py",
        "boto3_resource.py",
        "cli.py",
        "dataframes.py",
        "dask_workers.py",
        "migrate.py",
    } <= names


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example(script: Path, servers: dict[str, LocalS3Server]) -> None:
    env = _clean_env()
    for var, server in (("S3", servers["s3"]), ("LAKEFS", servers["lake"])):
        server.reset()
        env[f"{ENV_PREFIX}{var}_URL"] = server.endpoint_url
        env[f"{ENV_PREFIX}{var}_ACCESS_KEY"] = server.access_key
        env[f"{ENV_PREFIX}{var}_SECRET_KEY"] = server.secret_key
    result = _run(script, env, timeout=300)
    assert result.returncode == 0, _report(result)


def test_example_standalone() -> None:
    """Without the environment variables the example starts its own two servers."""
    result = _run(EXAMPLES_DIR / "lakefs_migration.py", _clean_env(), timeout=300)
    assert result.returncode == 0, _report(result)
    assert "example-repo/main/test/object.txt" in result.stdout
