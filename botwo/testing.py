"""Local S3 servers on loopback, for the demo, the examples and your own tests.

Each :class:`LocalS3Server` is one ``moto`` server *process* (servers inside one process
would share one store), on a free loopback port, with its own credentials, and it
accepts no others: a wrong secret fails with ``SignatureDoesNotMatch``, an unknown
access key with ``InvalidAccessKeyId`` (see :mod:`botwo._moto_auth`); version listings
page by ``key-marker`` as S3's do (see :mod:`botwo._moto_server`)::

    from botwo.testing import LocalS3Server

    with LocalS3Server("lakefs") as lake, LocalS3Server("s3") as s3:
        lake_client = lake.client()
        ...

Needs the ``demo`` (or ``test``) extra: ``pip install "botwo[demo]"``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any

__all__ = ["LocalS3Server"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalS3Server:
    """One moto S3 server process on 127.0.0.1 that accepts only its own credentials."""

    def __init__(
        self,
        name: str = "s3",
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        region: str = "us-east-1",
    ) -> None:
        self.name = name
        self.access_key = access_key or f"AK{name.upper()[:8]}{secrets.token_hex(4).upper()}"
        self.secret_key = secret_key or secrets.token_urlsafe(24)
        self.region = region
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def endpoint_url(self) -> str:
        if self._process is None:
            raise RuntimeError(f"local S3 server {self.name!r} is not running")
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> LocalS3Server:
        """Start the server process and wait until it answers."""
        try:
            import moto.server  # noqa: F401
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise RuntimeError("the local S3 servers need moto's server: pip install 'botwo[demo]'") from err
        from ._moto_auth import ENV_ACCESS_KEY, ENV_SECRET_KEY

        # The credentials go in the environment, which other users cannot read (a command
        # line they can); the server accepts only these (see botwo._moto_auth).
        env = {
            **os.environ,
            "MOTO_ALLOW_NONEXISTENT_REGION": "true",
            ENV_ACCESS_KEY: self.access_key,
            ENV_SECRET_KEY: self.secret_key,
        }
        for attempt in range(3):
            self.port = _free_port()
            self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
            self._process = subprocess.Popen(
                [sys.executable, "-m", "botwo._moto_server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=self._log,
                stderr=subprocess.STDOUT,
                env=env,
                # Its own session: a terminal's Ctrl-C reaches the owner, which stops it.
                start_new_session=True,
            )
            if self._wait_ready(timeout):
                return self
            self.stop()
            if attempt == 2:
                break
        raise RuntimeError(f"local S3 server {self.name!r} did not start")

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}/moto-api/"
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                return False
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(url, timeout=1) as response,
            ):
                if response.status == 200:
                    return True
            time.sleep(0.05)
        return False

    def client(self, **kwargs: Any) -> Any:
        """A boto3 S3 client for this server, with this server's credentials."""
        import boto3
        from botocore.config import Config

        options = self.client_config()
        options["config"] = Config(**options["config"])
        options.update(kwargs)
        return boto3.client("s3", **options)

    def client_config(self, **fields: Any) -> dict[str, Any]:
        """This server as one ``clients`` table of a botwo configuration (``fields`` override).

        ``client_config(aws_secret_access_key="${LAKE_SECRET}")`` keeps the secret out of
        the configuration: set that variable to :attr:`secret_key` in the environment.
        """
        table: dict[str, Any] = {
            "endpoint_url": self.endpoint_url,
            "region_name": self.region,
            "aws_access_key_id": self.access_key,
            "aws_secret_access_key": self.secret_key,
            "config": {"s3": {"addressing_style": "path"}, "retries": {"mode": "standard"}},
        }
        table.update(fields)
        return table

    def reset(self) -> None:
        """Forget every bucket and object."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> LocalS3Server:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"http://127.0.0.1:{self.port}" if self._process is not None else "stopped"
        return f"<LocalS3Server {self.name!r} {state}>"
