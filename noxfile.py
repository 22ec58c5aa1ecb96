"""Sessions: ``nox`` runs the tests and the linters; ``nox -s bench`` the benchmarks."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole test suite, over local S3 servers started by the fixtures."""
    session.install("-e", ".[test]")
    session.run("pytest", *(session.posargs or ["-n", "2"]))


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff and mypy (strict) on the package; and botwo.client(...) as an ``S3Client`` to mypy,
    with boto3's stubs (the lint extra's boto3-stubs[s3]) installed as a user would. The files
    that must not type-check, and the cases without the stubs, are tests/test_typing.py's."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", "botwo", "tests", "benchmarks", "examples", "noxfile.py")
    session.run("mypy")
    session.run("mypy", "tests/typing/check_mypy_boto3_s3.py")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """botwo's per-call overhead over the same boto3 client (network removed), and client build
    time; writes benchmarks/results/overhead.json. ``nox -s bench -- --quick`` for a smoke run,
    ``-- --instructions`` to add instruction counts per call (valgrind's callgrind)."""
    session.install("-e", ".")
    session.run("python", "benchmarks/bench_overhead.py", *session.posargs)


@nox.session(python=PYTHON)
def bench_listing(session: nox.Session) -> None:
    """A merged listing of 100,000 keys over two local servers against listing each server
    directly; writes benchmarks/results/listing.json. ``-- --quick`` for a smoke run."""
    session.install("-e", ".[demo]")
    session.run("python", "benchmarks/bench_listing.py", *session.posargs)


@nox.session(python=PYTHON)
def bench_copy(session: nox.Session) -> None:
    """A 1 GiB copy between two local servers: botwo against rclone (Debian's) and a naive
    get + put; writes benchmarks/results/copy.json. ``-- --size 64MiB`` for a smoke run."""
    session.install("-e", ".[demo]")
    session.run("python", "benchmarks/bench_copy.py", *session.posargs)


@nox.session(python=PYTHON)
def bench_fs(session: nox.Session) -> None:
    """Reading a 256 MiB Parquet file and 1,000 small objects through the botwo:// fsspec
    filesystem against plain boto3 on the same local server; writes benchmarks/results/fs.json.
    ``-- --quick`` for a smoke run."""
    session.install("-e", ".[demo,fsspec]", "pandas>=2", "pyarrow>=14")
    session.run("python", "benchmarks/bench_fs.py", *session.posargs)
