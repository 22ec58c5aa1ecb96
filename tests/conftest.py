"""Fixtures: real S3 servers on loopback, one moto process per backend.

``oracle`` is the plain single S3 that holds the caller's whole namespace; ``s3`` and
``lake`` are the backends that botwo routes over. Each has its own credentials.

A test that takes a ``backend_set`` parameter (``tests/backends.py``) runs with other
servers in those roles: Ceph's RADOS gateway (one per test session, a tenant per role)
and s3rver (a process per role). Where they are not installed those tests are skipped,
saying how to install them; with ``BOTWO_REQUIRE_SERVERS=1`` (CI) they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from botwo.testing import LocalRGW, LocalS3rver, LocalS3Server

from .backends import SETS

SERVER_NAMES = ("oracle", "s3", "lake")


@pytest.fixture(scope="session")
def servers() -> Iterator[dict[str, LocalS3Server]]:
    started: dict[str, LocalS3Server] = {}
    try:
        for name in SERVER_NAMES:
            started[name] = LocalS3Server(name).start()
        yield started
    finally:
        for server in started.values():
            server.stop()


def _need(problem: str | None) -> None:
    if problem:
        if os.environ.get("BOTWO_REQUIRE_SERVERS"):
            pytest.fail(f"BOTWO_REQUIRE_SERVERS is set, and {problem}", pytrace=False)
        pytest.skip(problem)


@pytest.fixture(scope="session")
def rgw() -> Iterator[LocalRGW]:
    """One Ceph RADOS gateway for the session (it takes seconds to start)."""
    _need(LocalRGW.missing())
    with LocalRGW("rgw") as gateway:
        yield gateway


@pytest.fixture(scope="session")
def s3rvers() -> Iterator[dict[str, LocalS3rver]]:
    """An s3rver process per role, started when first asked for."""
    _need(LocalS3rver().missing())
    started: dict[str, LocalS3rver] = {}
    try:
        yield started
    finally:
        for server in started.values():
            server.stop()


@pytest.fixture
def backend_set() -> str:
    """The servers behind the roles; a test parametrizes it to run over other sets."""
    return "moto"


@pytest.fixture
def set_servers(backend_set: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """The server of each role in ``backend_set``: a moto server, an RGW tenant or an s3rver."""
    chosen: dict[str, Any] = {}
    for role, kind in SETS[backend_set].items():
        if kind == "moto":
            chosen[role] = request.getfixturevalue("servers")[role]
        elif kind == "rgw":
            chosen[role] = request.getfixturevalue("rgw").user(role)
        else:
            pool = request.getfixturevalue("s3rvers")
            if role not in pool:
                pool[role] = LocalS3rver(role).start()
            chosen[role] = pool[role]
    return chosen


@pytest.fixture
def backends(set_servers: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Fresh (reset) servers; a boto3 client for each, with that server's credentials."""
    for server in set_servers.values():
        server.reset()
    clients = {name: server.client() for name, server in set_servers.items()}
    yield clients
    # Closed, not left to the collector: RGW and s3rver keep connections open, whose
    # sockets would warn (an error here) in whichever test collects them.
    for client in clients.values():
        client.close()


@pytest.fixture(autouse=True)
def _restore_environment() -> Iterator[None]:
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
