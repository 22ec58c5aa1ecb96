"""Fixtures: real S3 servers on loopback, one moto process per backend.

``oracle`` is the plain single S3 that holds the caller's whole namespace; ``s3`` and
``lake`` are the backends that botwo routes over. Each has its own credentials.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from botwo.testing import LocalS3Server

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


@pytest.fixture
def backends(servers: dict[str, LocalS3Server]) -> dict[str, Any]:
    """Fresh (reset) servers; a boto3 client for each, with that server's credentials."""
    for server in servers.values():
        server.reset()
    return {name: server.client() for name, server in servers.items()}


@pytest.fixture(autouse=True)
def _restore_environment() -> Iterator[None]:
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
