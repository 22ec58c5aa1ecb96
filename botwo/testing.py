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

Two other implementations of S3 run the same way, for proving botwo on servers that are
not moto: :class:`LocalRGW`, a throwaway Ceph cluster (one monitor, one OSD in memory and
the RADOS gateway) from Debian's packages, whose :meth:`LocalRGW.user` gives each backend
its own tenant (its own bucket namespace) on one cluster; and :class:`LocalS3rver`, the
``s3rver`` Node.js server, one process per backend. Each has ``start()``/``stop()``, is a
context manager, and has ``endpoint_url``, ``access_key``, ``secret_key``, ``region``,
``client()``, ``client_config()`` and ``reset()`` as :class:`LocalS3Server` has;
``missing()`` says what is not installed, and how to install it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["LocalRGW", "LocalS3Server", "LocalS3rver", "RGWUser"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Endpoint:
    """What every local server offers its tests: clients for its one set of credentials."""

    name: str
    access_key: str
    secret_key: str
    region: str
    #: botocore Config options every client of this server needs, beyond path-style
    #: addressing and standard retries.
    _needs: dict[str, Any] = {}  # noqa: RUF012 - never mutated

    @property
    def endpoint_url(self) -> str:
        raise NotImplementedError

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
            "config": {"s3": {"addressing_style": "path"}, "retries": {"mode": "standard"}, **self._needs},
        }
        table.update(fields)
        return table

    def reset(self) -> None:
        """Delete every bucket of this server's user, with all it holds."""
        client = self.client()
        try:
            _empty(client)
        finally:
            client.close()


class LocalS3Server(_Endpoint):
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


def _empty(client: Any) -> None:
    """Delete every bucket a client's user owns, with every object, version and upload, over
    the S3 API (what a server cannot forget in one call)."""
    from botocore.exceptions import ClientError

    for bucket in client.list_buckets().get("Buckets", []):
        name = bucket["Name"]
        with contextlib.suppress(ClientError):  # s3rver has no multipart listing
            for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=name):
                for upload in page.get("Uploads", []):
                    client.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
        try:
            pages = list(client.get_paginator("list_object_versions").paginate(Bucket=name))
            entries = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for page in pages
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
        except ClientError:  # s3rver has no versions
            pages = list(client.get_paginator("list_objects_v2").paginate(Bucket=name))
            entries = [{"Key": o["Key"]} for page in pages for o in page.get("Contents", [])]
        for start in range(0, len(entries), 1000):
            client.delete_objects(
                Bucket=name, Delete={"Objects": entries[start : start + 1000], "Quiet": True}
            )
        client.delete_bucket(Bucket=name)


def _key(name: str) -> tuple[str, str]:
    return f"AK{name.upper()[:8]}{secrets.token_hex(4).upper()}", secrets.token_urlsafe(24)


def _wait(ready: Callable[[], bool], processes: list[subprocess.Popen[bytes]], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            return False
        if ready():
            return True
        time.sleep(0.05)
    return False


def _answers(url: str) -> bool:
    """Whether an HTTP server answers at ``url`` (with any status)."""
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, urllib.error.URLError):
        return False


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            process.kill()
            process.wait()


# Ceph's configuration for a throwaway cluster: one monitor, one OSD whose store is memory
# (memstore), no authentication, pools of one copy with few placement groups, and no health
# warnings about any of that (a 0% free data disk included), so that it reports healthy.
_CEPH_CONF = """\
[global]
fsid = {fsid}
mon_host = v1:127.0.0.1:{mon_port}
public_addr = 127.0.0.1
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
keyring = /dev/null
run_dir = {dir}/run
admin_socket = {dir}/run/$name.asok
log_file = {dir}/log/$name.log
pid_file = {dir}/run/$name.pid
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_allow_pool_size_one = true
mon_data_avail_warn = 1
mon_data_avail_crit = 0
mon_warn_on_pool_no_redundancy = false
mon_warn_on_insecure_global_id_reclaim_allowed = false
mon_warn_on_msgr2_not_enabled = false
ms_bind_ipv6 = false

[mon]
mon_data = {dir}/mon

[osd]
osd_data = {dir}/osd
osd_objectstore = memstore
memstore_device_bytes = {memstore_bytes}
# Placed in the CRUSH map before it starts: an OSD that places itself sends its first
# command before it knows the cluster's fsid, now and then, and the monitor refuses it.
osd_crush_update_on_start = false
osd_class_update_on_start = false

[client.rgw]
rgw_frontends = beast endpoint=127.0.0.1:{rgw_port}
rgw_thread_pool_size = 32
"""


class LocalRGW(_Endpoint):
    """A throwaway Ceph RADOS gateway (Ceph's S3) on 127.0.0.1, from Debian's packages.

    One monitor, one OSD that keeps objects in memory (``memstore``, at most
    ``memstore_bytes``) and ``radosgw`` with its ``beast`` frontend, each a child process
    with its configuration, data, logs and sockets in one temporary directory, which
    :meth:`stop` removes. It takes about 13 s to start: start one per test session, and
    give each backend a :meth:`user` of its own (a tenant, with its own bucket names).
    This object is itself one such user, in no tenant.
    """

    #: The command that installs what :meth:`start` runs (Debian's Ceph, 16.2 in Debian 12).
    INSTALL = "apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd ceph-common"
    _PROGRAMS = ("ceph", "ceph-mon", "ceph-osd", "monmaptool", "radosgw", "radosgw-admin")

    def __init__(
        self,
        name: str = "rgw",
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        region: str = "us-east-1",
        memstore_bytes: int = 1 << 30,
    ) -> None:
        generated = _key(name)
        self.name = name
        self.access_key = access_key or generated[0]
        self.secret_key = secret_key or generated[1]
        self.region = region
        self.memstore_bytes = memstore_bytes
        self.port = 0
        self._dir: Path | None = None
        self._processes: list[subprocess.Popen[bytes]] = []
        self._users: dict[str, RGWUser] = {}

    @classmethod
    def missing(cls) -> str | None:
        """What is missing to run the gateway, with the command that installs it; or None."""
        absent = [p for p in cls._PROGRAMS if shutil.which(p) is None]
        if not absent:
            return None
        return f"Ceph RGW needs {', '.join(absent)}: run `{cls.INSTALL}` (Debian/Ubuntu, as root)"

    @property
    def endpoint_url(self) -> str:
        if not self._processes:
            raise RuntimeError(f"local RGW {self.name!r} is not running")
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> LocalRGW:
        """Make the cluster, start its three daemons, create this user, and wait until the
        gateway answers; :class:`RuntimeError` (with the log's end) when it does not."""
        problem = self.missing()
        if problem:
            raise RuntimeError(problem)
        deadline = time.monotonic() + timeout
        for attempt in range(2):
            self._dir = Path(tempfile.mkdtemp(prefix=f"botwo-rgw-{self.name}-"))
            try:
                self._start(max(1.0, deadline - time.monotonic()))
                return self
            except BaseException as err:
                self.stop()
                # A daemon that refused to start (the race above, in the OSD or the
                # gateway): once more, from scratch.
                if attempt == 1 or not isinstance(err, RuntimeError) or time.monotonic() > deadline:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _start(self, timeout: float) -> None:
        assert self._dir is not None
        d = self._dir
        for sub in ("mon", "osd", "run", "log"):
            (d / sub).mkdir()
        fsid, osd_uuid = uuid.uuid4(), uuid.uuid4()
        mon_port, self.port = _free_port(), _free_port()
        conf = d / "ceph.conf"
        conf.write_text(
            _CEPH_CONF.format(
                fsid=fsid, mon_port=mon_port, rgw_port=self.port, dir=d, memstore_bytes=self.memstore_bytes
            )
        )
        deadline = time.monotonic() + timeout

        def run(*command: str) -> str:
            # Without cephx a client may send its first command before it has the monitor
            # map, and so without the cluster's fsid, which the monitor refuses: again.
            for _ in range(3):
                left = max(1, int(deadline - time.monotonic()))
                done = subprocess.run(
                    [command[0], "-c", str(conf), *command[1:]],
                    capture_output=True,
                    text=True,
                    timeout=left,
                    check=False,
                )
                if done.returncode == 0:
                    break
            if done.returncode != 0:
                raise RuntimeError(
                    f"local RGW {self.name!r}: {' '.join(command)} failed: {done.stderr.strip()}"
                )
            return done.stdout

        def daemon(*command: str) -> None:
            log = open(d / "log" / f"{command[0]}.out", "wb")  # noqa: SIM115 - the child holds it
            with log:
                self._processes.append(
                    subprocess.Popen(
                        [command[0], "-c", str(conf), "-f", *command[1:]],
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        start_new_session=True,
                    )
                )

        subprocess.run(
            [
                "monmaptool",
                "--create",
                "--add",
                "a",
                f"v1:127.0.0.1:{mon_port}",
                "--fsid",
                str(fsid),
                str(d / "monmap"),
            ],
            capture_output=True,
            check=True,
        )
        run("ceph-mon", "--mkfs", "-i", "a", "--monmap", str(d / "monmap"))
        daemon("ceph-mon", "-i", "a")
        # The OSD's id comes from the monitor (which this waits for); its store must carry
        # the same uuid, or the monitor refuses it as another OSD.
        osd_id = run("ceph", "--connect-timeout", "30", "osd", "new", str(osd_uuid)).strip()
        run("ceph-osd", "-i", osd_id, "--mkfs", "--osd-uuid", str(osd_uuid))
        run("ceph", "osd", "crush", "add", f"osd.{osd_id}", "1.0", "host=localhost", "root=default")
        daemon("ceph-osd", "-i", osd_id)
        daemon("radosgw", "-n", "client.rgw")
        url = f"http://127.0.0.1:{self.port}/"
        if not _wait(lambda: _answers(url), self._processes, max(0.0, deadline - time.monotonic())):
            raise RuntimeError(f"local RGW {self.name!r} did not start: {self._log_tail()}")
        # Only once the gateway has made its zone and pools: radosgw-admin making them at
        # the same time waits forever.
        self._admin("user", "create", "--uid", "botwo", "--display-name", self.name, *self._keys(self))
        # The first bucket makes the pools of bucket indexes and data (seconds): now, not
        # in the first test.
        client = self.client()
        try:
            client.create_bucket(Bucket="botwo-warm-up")
            client.put_object(Bucket="botwo-warm-up", Key="k", Body=b"")
            _empty(client)
        finally:
            client.close()

    @staticmethod
    def _keys(user: _Endpoint) -> tuple[str, ...]:
        return ("--access-key", user.access_key, "--secret", user.secret_key)

    def _admin(self, *args: str) -> Any:
        assert self._dir is not None
        done = subprocess.run(
            ["radosgw-admin", "-c", str(self._dir / "ceph.conf"), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"local RGW {self.name!r}: radosgw-admin {args[0]} {args[1]}: {done.stderr.strip()}"
            )
        return json.loads(done.stdout) if done.stdout.strip() else None

    def _log_tail(self) -> str:
        if self._dir is None:
            return ""
        lines = []
        for log in sorted((self._dir / "log").glob("*")):
            lines += [f"{log.name}: {line}" for line in log.read_text(errors="replace").splitlines()[-5:]]
        return "\n".join(lines)

    def user(self, tenant: str, *, access_key: str | None = None, secret_key: str | None = None) -> RGWUser:
        """The user of ``tenant``, made on first use: a backend of its own on this gateway.

        Its buckets are in its tenant's namespace, so that two users may each have a bucket
        ``data``; S3 addresses them by name alone, as it would on two servers. A tenant's
        name is ASCII letters, digits and ``_``.
        """
        if not tenant.isascii() or not tenant.replace("_", "").isalnum():
            raise ValueError(f"an RGW tenant is letters, digits and _ only, not {tenant!r}")
        if tenant not in self._users:
            made = RGWUser(self, tenant, access_key=access_key, secret_key=secret_key)
            self._admin(
                "user",
                "create",
                "--tenant",
                tenant,
                "--uid",
                "botwo",
                "--display-name",
                tenant,
                *self._keys(made),
            )
            self._users[tenant] = made
        return self._users[tenant]

    def rss(self) -> int:
        """The resident memory of the cluster's processes, in bytes (Linux)."""
        total = 0
        for process in self._processes:
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        return total

    def stop(self) -> None:
        """Stop the gateway, the OSD and the monitor, and remove their directory."""
        processes, self._processes = self._processes, []
        for process in reversed(processes):
            _terminate(process)
        self._users.clear()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> LocalRGW:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"http://127.0.0.1:{self.port}" if self._processes else "stopped"
        return f"<LocalRGW {self.name!r} {state}>"


class RGWUser(_Endpoint):
    """One tenant's user of a :class:`LocalRGW`: a backend with its own bucket namespace
    and credentials (which the gateway checks), on the cluster's endpoint."""

    def __init__(
        self, gateway: LocalRGW, tenant: str, *, access_key: str | None = None, secret_key: str | None = None
    ) -> None:
        generated = _key(tenant)
        self.gateway = gateway
        self.name = tenant
        self.access_key = access_key or generated[0]
        self.secret_key = secret_key or generated[1]
        self.region = gateway.region

    @property
    def endpoint_url(self) -> str:
        return self.gateway.endpoint_url

    def __repr__(self) -> str:
        return f"<RGWUser {self.name!r} of {self.gateway!r}>"


# s3rver checks signatures against one hard-coded key pair; this swaps in the server's own
# (from the environment, which it then forgets), and prints the port it listens on.
_S3RVER_MAIN = """\
const S3rver = require(process.env.BOTWO_S3RVER);
const Account = require(process.env.BOTWO_S3RVER + '/lib/models/account');
const account = Account.DUMMY_ACCOUNT;
account.revokeAccessKey('S3RVER');
account.createKeyPair(process.env.BOTWO_ACCESS_KEY, process.env.BOTWO_SECRET_KEY);
delete process.env.BOTWO_ACCESS_KEY;
delete process.env.BOTWO_SECRET_KEY;
new S3rver({address: '127.0.0.1', port: 0, directory: process.env.BOTWO_S3RVER_DATA,
            silent: true, vhostBuckets: false})
  .run().then(({port}) => console.log(port), (err) => { console.error(err); process.exit(1); });
"""


class LocalS3rver(_Endpoint):
    """One ``s3rver`` (a Node.js S3 server, objects in files) on 127.0.0.1, that accepts only
    its own credentials; one process per backend.

    s3rver checks the access key of every request, but the signature only of SigV2 ones
    (``signature_version="s3"``): under botocore's default SigV4 a wrong secret passes.

    It needs Node.js and ``s3rver``, which :meth:`install` puts in ``cache_dir`` with npm
    (``$BOTWO_CACHE`` or ``~/.cache/botwo``, then ``s3rver/``). Its clients leave out
    botocore's default request checksums and skip response checksum validation, which
    s3rver does not understand.
    """

    VERSION = "3.7.1"
    _needs = {  # noqa: RUF012 - never mutated
        "request_checksum_calculation": "when_required",
        "response_checksum_validation": "when_required",
    }

    def __init__(
        self,
        name: str = "s3rver",
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        region: str = "us-east-1",
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        generated = _key(name)
        self.name = name
        self.access_key = access_key or generated[0]
        self.secret_key = secret_key or generated[1]
        self.region = region
        self.port = 0
        self.cache_dir = Path(cache_dir) if cache_dir is not None else self.default_cache_dir()
        self._process: subprocess.Popen[bytes] | None = None
        self._dir: Path | None = None

    @staticmethod
    def default_cache_dir() -> Path:
        base = os.environ.get("BOTWO_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "botwo")
        return Path(base) / "s3rver"

    @property
    def module(self) -> Path:
        return self.cache_dir / "node_modules" / "s3rver"

    def install_command(self) -> str:
        return f"npm install --prefix {self.cache_dir} s3rver@{self.VERSION}"

    def missing(self) -> str | None:
        """What is missing to run s3rver (Node.js and npm, or the package), with how to get
        it; None when it can run, or npm can install it."""
        if shutil.which("node") is None or (shutil.which("npm") is None and not self.module.is_dir()):
            then = self.install_command()
            return f"s3rver needs Node.js and npm: run `apt-get install -y nodejs npm`, then `{then}`"
        return None

    def install(self) -> None:
        """Install s3rver into the cache directory with npm, unless it is there."""
        if (self.module / "package.json").is_file():
            return
        problem = self.missing()
        if problem:
            raise RuntimeError(problem)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        # One install at a time (pytest-xdist's workers start their servers together).
        with open(self.cache_dir / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (self.module / "package.json").is_file():
                self._npm_install()

    def _npm_install(self) -> None:
        done = subprocess.run(
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                "--silent",
                "--prefix",
                str(self.cache_dir),
                f"s3rver@{self.VERSION}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"`{self.install_command()}` failed: {done.stderr.strip()}")

    @property
    def endpoint_url(self) -> str:
        if self._process is None:
            raise RuntimeError(f"local s3rver {self.name!r} is not running")
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> LocalS3rver:
        """Install s3rver if needed, start it on a free port and wait until it answers."""
        self.install()
        self._dir = Path(tempfile.mkdtemp(prefix=f"botwo-s3rver-{self.name}-"))
        env = {
            **os.environ,
            "BOTWO_S3RVER": str(self.module),
            "BOTWO_S3RVER_DATA": str(self._dir),
            "BOTWO_ACCESS_KEY": self.access_key,
            "BOTWO_SECRET_KEY": self.secret_key,
        }
        # Node 17+ (OpenSSL 3) refuses the MD4 hash that s3rver's dependencies ask for.
        node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False).stdout
        if int(node.lstrip("v").split(".")[0] or 0) >= 17:
            env["NODE_OPTIONS"] = (env.get("NODE_OPTIONS", "") + " --openssl-legacy-provider").strip()
        self._process = subprocess.Popen(
            ["node", "-e", _S3RVER_MAIN],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline().strip()  # the port, once it listens
        if not line.isdigit():
            err = b""
            if self._process.stderr is not None:
                self._process.kill()
                err = self._process.stderr.read()
            self.stop()
            raise RuntimeError(
                f"local s3rver {self.name!r} did not start: {err.decode(errors='replace')[-2000:]}"
            )
        self.port = int(line)
        if not _wait(lambda: _answers(f"http://127.0.0.1:{self.port}/"), [self._process], timeout):
            self.stop()
            raise RuntimeError(f"local s3rver {self.name!r} did not answer")
        return self

    def rss(self) -> int:
        """The resident memory of the server process, in bytes (Linux)."""
        if self._process is None:
            return 0
        for line in Path(f"/proc/{self._process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def stop(self) -> None:
        """Stop the server and remove its objects' directory."""
        process, self._process = self._process, None
        if process is not None:
            _terminate(process)
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> LocalS3rver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"http://127.0.0.1:{self.port}" if self._process is not None else "stopped"
        return f"<LocalS3rver {self.name!r} {state}>"
