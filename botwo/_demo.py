"""``botwo demo``: the design's lakeFS migration, end to end, on two local S3 servers.

Two embedded S3 servers stand in for AWS S3 and for a lakeFS S3 gateway; each is its own
process with its own credentials. The operator creates the target buckets, the botwo
client is built with the design's mapping (plus a rule that moves only part of a bucket),
and then ordinary boto3 code runs against it unchanged. Each call is printed with the
route it took, and at the end the caller's listings are set beside each server's real
contents, so the renaming is visible.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import sys
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import Any, TextIO

__all__ = ["MAPPING", "run"]

#: The design's mapping (design/accepted/boto-design.md), plus one rule that moves only
#: the ``raw/`` part of bucket ``data`` into a lakeFS repository.
MAPPING: list[dict[str, Any]] = [
    {"bucket_name": "bucket-a", "client": "lakefs", "key_prefix": "dev/"},
    {
        "bucket_name": "example-old-bucket",
        "mapped_bucket_name": "example-repo",
        "client": "lakefs",
        "key_prefix": "main/",
    },
    {
        "bucket_name": "data",
        "prefix": "raw/",
        "client": "lakefs",
        "mapped_bucket_name": "data-lake",
        "key_prefix": "main/",
        "strip_prefix": True,
    },
    {"bucket_name": "*", "client": "s3"},
]

#: What the operator creates before switching the code over: lakeFS repositories on the
#: lakeFS server, plain buckets on S3.
SETUP: dict[str, tuple[str, ...]] = {
    "lakefs": ("example-repo", "bucket-a", "data-lake"),
    "s3": ("test-bucket", "data"),
}

#: The objects the user's code writes (caller names).
OBJECTS: tuple[tuple[str, str, bytes], ...] = (
    ("example-old-bucket", "test/object.txt", b"hello from example-old-bucket\n"),
    ("example-old-bucket", "test/sub/b.txt", b"b\n"),
    ("bucket-a", "reports/2024.csv", b"month,total\njan,42\nfeb,57\n"),
    ("test-bucket", "test/object.txt", b"still on plain S3\n"),
    *(("data", f"raw/events-{i:03d}.json", b'{"event": %d}\n' % i) for i in range(1, 6)),
    ("data", "clean/summary.csv", b"events,5\n"),
)

#: How each caller bucket is listed through botwo at the end. ``data`` is split between
#: two routes by the partial move, so it is listed one route prefix at a time.
CALLER_LISTINGS: tuple[tuple[str, str], ...] = (
    ("bucket-a", ""),
    ("data", "raw/"),
    ("data", "clean/"),
    ("example-old-bucket", ""),
    ("test-bucket", ""),
)

WIDTH = 100  # the widest line the demo aims for
UPLOAD_SIZE = 12 * 1024 * 1024
PART_SIZE = 5 * 1024 * 1024

_COLORS = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}
_CLIENT_COLORS = {"lakefs": "cyan", "s3": "yellow"}


class MissingDependency(RuntimeError):
    """The demo's optional dependencies are not installed."""


def require_moto() -> None:
    """Raise :class:`MissingDependency` unless moto's server can be imported."""
    try:
        import moto.server  # noqa: F401
    except ImportError as err:
        raise MissingDependency(
            "the demo's two local S3 servers need moto's server, which is not installed "
            f"({err}).\n"
            'Install it with:  pip install "botwo[demo]"'
        ) from err


def use_color(stream: TextIO, choice: str = "auto") -> bool:
    """ANSI color: ``always``, ``never``, or ``auto`` (a TTY, and ``NO_COLOR`` unset)."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class _Out:
    """Plain-terminal output: section headings, aligned columns, optional ANSI color."""

    def __init__(self, stream: TextIO, color: bool) -> None:
        self.stream = stream
        self.color = color
        self.problems: list[str] = []

    def paint(self, text: str, *styles: str) -> str:
        if not self.color or not styles or not text:
            return text
        codes = ";".join(_COLORS[s] for s in styles)
        return f"\033[{codes}m{text}\033[0m"

    def client(self, name: str, width: int = 0) -> str:
        return self.paint(name.ljust(width), _CLIENT_COLORS.get(name, "bold"))

    def line(self, text: str = "") -> None:
        self.stream.write(text + "\n")

    def heading(self, number: int, title: str) -> None:
        self.line()
        self.line(self.paint(f"{number}. {title}", "bold"))

    def note(self, text: str) -> None:
        self.line("     " + self.paint(text, "dim"))

    def result(self, text: str) -> None:
        self.line("     " + self.paint("= ", "dim") + text)

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.problems.append(what)
            self.line("     " + self.paint(f"!! unexpected: {what}", "red", "bold"))


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1024 * 1024):.1f} MiB"


def _call(method: str, *args: str, **params: Any) -> str:
    """The call as the user's code writes it, wrapped to fit a terminal."""
    items = [*args, *(f"{name}={json.dumps(value)}" for name, value in params.items())]
    head = f"s3.{method}("
    lines = [head]
    for i, item in enumerate(items):
        text = item + (", " if i < len(items) - 1 else ")")
        if len(lines[-1]) > len(head) and len(lines[-1]) + len(text.rstrip()) > WIDTH - 3:
            lines[-1] = lines[-1].rstrip()
            lines.append(" " * len(head))
        lines[-1] += text
    return "\n".join(lines)


class _Demo:
    def __init__(self, out: _Out, servers: dict[str, Any], plain: dict[str, Any], s3: Any) -> None:
        self.out = out
        self.servers = servers
        self.plain = plain
        self.s3 = s3

    # -- describing routes -----------------------------------------------------------

    def target(self, bucket: str, key: str) -> tuple[str, str, str, int]:
        """(client, target bucket, target key, rule index) of a caller bucket/key."""
        decision = self.s3.route(bucket, key)  # botwo's routing decision; nothing is sent
        return decision.client, decision.target_bucket, decision.target_key, decision.rule_index

    def routed(self, bucket: str, key: str, where: str | None = None) -> None:
        """The route line: rule, backend, and the target name (``where``, or bucket/key)."""
        client, tbucket, tkey, index = self.target(bucket, key)
        self.out.line(
            "     "
            + self.out.paint(f"-> rule {index}:", "dim")
            + " "
            + self.out.client(client)
            + "  "
            + (f"{tbucket}/{tkey}" if where is None else where.format(bucket=tbucket, key=tkey))
        )

    def step(self, code: str) -> None:
        self.out.line()
        for line in code.splitlines():
            self.out.line("   " + self.out.paint(line, "bold"))

    # -- the scenario ----------------------------------------------------------------

    def show_mapping(self) -> None:
        out = self.out
        out.heading(2, "The mapping: the first matching rule serves each call")
        out.line(f"   {'rule':<5}{'caller bucket[/prefix]':<24}{'client':<8}target")
        for i, rule in enumerate(self.s3.rules):
            match = rule.bucket_name + (f"/{rule.prefix}" if rule.prefix else "")
            same = "<same name>" if rule.bucket_name == "*" else rule.bucket_name
            bucket = rule.mapped_bucket_name or same
            where = f"{bucket}/{rule.key_prefix}" if rule.key_prefix else bucket
            extra = f"   (drops {rule.prefix!r})" if rule.strip_prefix else ""
            out.line(f"   {i:<5}{match:<24}" + out.client(rule.client, 8) + where + out.paint(extra, "dim"))

    def put_objects(self) -> None:
        out = self.out
        out.heading(3, "The user's code, unchanged: every call goes through `s3`")
        self.step("for bucket, key, body in objects: s3.put_object(Bucket=bucket, Key=key, Body=body)")
        width = max(len(f"{b}/{k}") for b, k, _ in OBJECTS)
        for bucket, key, body in OBJECTS:
            self.s3.put_object(Bucket=bucket, Key=key, Body=body)
            client, tbucket, tkey, index = self.target(bucket, key)
            out.line(
                f"     {bucket + '/' + key:<{width}}  "
                + out.paint(f"-> rule {index}:", "dim")
                + " "
                + out.client(client, 6)
                + f"  {tbucket}/{tkey}"
            )

    def reads(self) -> None:
        out = self.out
        bucket, key, body = OBJECTS[0]
        self.step(_call("get_object", Bucket=bucket, Key=key))
        self.routed(bucket, key)
        got = self.s3.get_object(Bucket=bucket, Key=key)
        with got["Body"] as stream:
            data = stream.read()
        out.result(f"Body {data!r}")
        out.check(data == body, "get_object returned another body")

        bucket, key, body = OBJECTS[2]
        self.step(_call("head_object", Bucket=bucket, Key=key))
        self.routed(bucket, key)
        head = self.s3.head_object(Bucket=bucket, Key=key)
        out.result(f"ContentLength {head['ContentLength']}, ETag {head['ETag']}")
        out.check(head["ContentLength"] == len(body), "head_object gave another length")

    def listings(self) -> None:
        out = self.out
        self.step(_call("list_objects_v2", Bucket="example-old-bucket", Prefix="test/", Delimiter="/"))
        self.routed("example-old-bucket", "test/", "Bucket={bucket!r}, Prefix={key!r}")
        page = self.s3.list_objects_v2(Bucket="example-old-bucket", Prefix="test/", Delimiter="/")
        keys = [o["Key"] for o in page.get("Contents", [])]
        prefixes = [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        out.result(f"Name {page['Name']!r}, Prefix {page['Prefix']!r}")
        out.result(f"Contents {keys}, CommonPrefixes {prefixes}")
        out.check(keys == ["test/object.txt"] and prefixes == ["test/sub/"], "unexpected listing")

        self.step(
            'for page in s3.get_paginator("list_objects_v2").paginate(\n'
            '        Bucket="data", Prefix="raw/", PaginationConfig={"PageSize": 2}):'
        )
        self.routed("data", "raw/", "Bucket={bucket!r}, Prefix={key!r}")
        paginator = self.s3.get_paginator("list_objects_v2")
        pages = [
            [o["Key"] for o in p.get("Contents", [])]
            for p in paginator.paginate(Bucket="data", Prefix="raw/", PaginationConfig={"PageSize": 2})
        ]
        for number, page_keys in enumerate(pages, 1):
            out.result(f"page {number}: {page_keys}")
        expected = [k for b, k, _ in OBJECTS if b == "data" and k.startswith("raw/")]
        out.check([k for p in pages for k in p] == expected, "the pages do not hold every raw/ key")

        self.step(_call("list_objects_v2", Bucket="data", Delimiter="/"))
        page = self.s3.list_objects_v2(Bucket="data", Delimiter="/")
        owners = sorted({r.rule_index for r in (self.s3.route("data", k) for _, k, _ in OBJECTS)})
        out.note(
            "bucket 'data' is split between rules "
            + " and ".join(map(str, owners))
            + ": botwo lists both backends and merges them"
        )
        prefixes = [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        out.result(f"one listing, CommonPrefixes {prefixes}")
        expected = sorted({k.split("/")[0] + "/" for b, k, _ in OBJECTS if b == "data"})
        out.check(prefixes == expected, "the merged listing misses a part of the bucket")

    def upload(self) -> None:
        from boto3.s3.transfer import TransferConfig

        out = self.out
        bucket, key = "example-old-bucket", "models/weights.bin"
        self.step(
            _call(
                "upload_fileobj",
                "fileobj",
                json.dumps(bucket),
                json.dumps(key),
                "Callback=progress",
                "Config=config",
            )
        )
        out.note(f"fileobj: {_size(UPLOAD_SIZE)}; config: multipart in parts of {_size(PART_SIZE)}")
        self.routed(bucket, key, "{bucket}/{key}  (create, each part, complete)")
        seen = [0]
        lock = threading.Lock()

        def progress(amount: int) -> None:
            with lock:
                seen[0] += amount

        config = TransferConfig(multipart_threshold=PART_SIZE, multipart_chunksize=PART_SIZE)
        payload = bytes(range(256)) * (UPLOAD_SIZE // 256)
        self.s3.upload_fileobj(io.BytesIO(payload), bucket, key, Callback=progress, Config=config)
        head = self.s3.head_object(Bucket=bucket, Key=key)
        etag = head["ETag"].strip('"')
        parts = etag.rpartition("-")[2] if "-" in etag else "1"
        out.result(
            f"Callback counted {seen[0]:,} bytes; multipart upload of {parts} parts (ETag ...{etag[-6:]})"
        )
        out.check(seen[0] == UPLOAD_SIZE and head["ContentLength"] == UPLOAD_SIZE, "upload size")

    def copy_and_delete(self) -> None:
        out = self.out
        bucket, source, dest = "example-old-bucket", "test/object.txt", "test/object-copy.txt"
        self.step(_call("copy_object", Bucket=bucket, Key=dest, CopySource={"Bucket": bucket, "Key": source}))
        _, tbucket, tsource, _ = self.target(bucket, source)
        self.routed(bucket, dest)
        self.s3.copy_object(Bucket=bucket, Key=dest, CopySource={"Bucket": bucket, "Key": source})
        copied = self.s3.head_object(Bucket=bucket, Key=dest)
        out.result(f"server-side copy of {tbucket}/{tsource}, {copied['ContentLength']} bytes")

        # From lakeFS to S3: two clients, so botwo streams the bytes across.
        other, other_key = "test-bucket", "test/from-lakefs.txt"
        self.step(
            _call("copy_object", Bucket=other, Key=other_key, CopySource={"Bucket": bucket, "Key": source})
        )
        self.routed(other, other_key)
        self.s3.copy_object(Bucket=other, Key=other_key, CopySource={"Bucket": bucket, "Key": source})
        body = self.s3.get_object(Bucket=other, Key=other_key)["Body"].read()
        original = self.s3.get_object(Bucket=bucket, Key=source)["Body"].read()
        out.result(f"streamed from lakefs {tbucket}/{tsource} to s3, {len(body)} bytes, checked")
        out.check(body == original, "the copy across backends differs from its source")

        doomed = ["raw/events-001.json", "raw/events-002.json"]
        self.step(_call("delete_objects", Bucket="data", Delete={"Objects": [{"Key": k} for k in doomed]}))
        renamed = ", ".join(self.target("data", k)[2] for k in doomed)
        self.routed("data", "raw/", "{bucket}: " + renamed.replace("{", "{{").replace("}", "}}"))
        response = self.s3.delete_objects(Bucket="data", Delete={"Objects": [{"Key": k} for k in doomed]})
        deleted = sorted(d["Key"] for d in response.get("Deleted", []))
        out.result(f"Deleted {deleted}")
        out.check(deleted == doomed, "delete_objects answered in other names")

    def missing(self) -> None:
        out = self.out
        bucket, key = "example-old-bucket", "test/missing.txt"
        self.step(_call("get_object", Bucket=bucket, Key=key))
        self.routed(bucket, key)
        try:
            self.s3.get_object(Bucket=bucket, Key=key)
        except self.s3.exceptions.NoSuchKey as err:
            error = err.response["Error"]
            out.result(
                f"caught s3.exceptions.NoSuchKey: Key={error.get('Key')!r}, {error.get('Message', '')!r}"
            )
            out.note("the error names the caller's key, not the backend's")
            out.check(error.get("Key") == key, "the error does not name the caller's key")
        else:
            out.check(False, "no NoSuchKey for a missing key")

    def presigned(self) -> None:
        out = self.out
        bucket, key, body = OBJECTS[2]
        self.step(
            "url = " + _call("generate_presigned_url", '"get_object"', Params={"Bucket": bucket, "Key": key})
        )
        self.routed(bucket, key)
        url = self.s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key})
        parts = urllib.parse.urlsplit(url)
        client = self.target(bucket, key)[0]
        server = self.servers[client]
        out.result(f"{parts.scheme}://{parts.netloc}{parts.path}?" + out.paint("<signature>", "dim"))
        with urllib.request.urlopen(url, timeout=30) as response:
            data = response.read()
            status = response.status
        out.result(f"urllib.request.urlopen(url): HTTP {status}, {len(data)} bytes")
        out.note(f"port {parts.port} is the {client} server's; the URL is signed with its credentials")
        out.check(data == body and parts.port == server.port, "the presigned URL")

    # -- the two views -------------------------------------------------------------

    def caller_view(self) -> dict[tuple[str, str], int]:
        seen: dict[tuple[str, str], int] = {}
        paginator = self.s3.get_paginator("list_objects_v2")
        for bucket, prefix in CALLER_LISTINGS:
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    seen[(bucket, obj["Key"])] = obj["Size"]
        return seen

    def backend_view(self) -> dict[tuple[str, str, str], int]:
        found: dict[tuple[str, str, str], int] = {}
        for name, client in self.plain.items():
            for bucket in client.list_buckets().get("Buckets", []):
                paginator = client.get_paginator("list_objects_v2")
                for page in paginator.paginate(Bucket=bucket["Name"]):
                    for obj in page.get("Contents", []):
                        found[(name, bucket["Name"], obj["Key"])] = obj["Size"]
        return found

    def compare(self) -> None:
        out = self.out
        out.heading(4, "What the caller sees, and where it really is")
        caller = self.caller_view()
        real = self.backend_view()
        rows: list[tuple[str, str, str, str]] = []
        unmatched = dict(real)
        for (bucket, key), size in caller.items():
            client, tbucket, tkey, _ = self.target(bucket, key)
            real_size = unmatched.pop((client, tbucket, tkey), None)
            out.check(real_size == size, f"{bucket}/{key} is not at {client} {tbucket}/{tkey}")
            rows.append((client, f"{bucket}/{key}", _size(size), f"{tbucket}/{tkey}"))
        for (client, tbucket, tkey), size in unmatched.items():
            out.check(False, f"{client} {tbucket}/{tkey} has no caller name")
            rows.append((client, "(no caller name)", _size(size), f"{tbucket}/{tkey}"))
        rows.sort(key=lambda r: (r[0], r[3]))
        width = max(len(r[1]) for r in rows)
        out.line(
            out.paint(
                f"   {'caller (listed through botwo)':<{width + 2}}  {'size':>8}      "
                "server: bucket/key (plain boto3 listings)",
                "dim",
            )
        )
        current: str | None = None
        for server, name, shown, where in rows:
            if server != current:
                current = server
                endpoint = self.servers[server].endpoint_url
                out.line("   " + out.client(server) + out.paint(f"  {endpoint}", "dim"))
            out.line(f"     {name:<{width}}  {shown:>8}  " + out.paint("->", "dim") + f"  {where}")
        per_server = ", ".join(f"{sum(1 for r in real if r[0] == name)} on {name}" for name in self.plain)
        out.line()
        out.line(
            f"   {len(caller)} objects seen by the caller; {per_server}; "
            f"{len(real) - len(unmatched)} matched one to one."
        )


def _start_servers(out: _Out, servers: dict[str, Any]) -> None:
    out.heading(1, "The operator's setup: two S3 services, each with its own credentials")
    for name, server in servers.items():
        server.start()
        out.line(
            f"   started {out.client(name, 7)} {server.endpoint_url:<24}  "
            + out.paint(f"access key {server.access_key}", "dim")
        )


def _show_credentials_checked(out: _Out, servers: dict[str, Any]) -> None:
    """Each server refuses the other's secret, as two real services would."""
    from botocore.exceptions import ClientError

    lakefs, s3 = servers["lakefs"], servers["s3"]
    wrong = lakefs.client(aws_secret_access_key=s3.secret_key)
    try:
        wrong.list_buckets()
    except ClientError as err:
        code = err.response["Error"]["Code"]
        status = err.response["ResponseMetadata"]["HTTPStatusCode"]
        out.line(f"   lakefs's access key with s3's secret: {code} (HTTP {status})")
        out.check(code == "SignatureDoesNotMatch", f"a wrong secret was refused with {code}")
    else:
        out.check(False, "the lakefs server accepted the s3 server's secret")
    finally:
        wrong.close()


def _create_buckets(out: _Out, plain: dict[str, Any]) -> None:
    for name, buckets in SETUP.items():
        for bucket in buckets:
            plain[name].create_bucket(Bucket=bucket)
        kind = "repositories" if name == "lakefs" else "buckets"
        out.line(f"   created on {out.client(name, 7)} {kind}: {', '.join(buckets)}")


def _scenario(out: _Out, servers: dict[str, Any]) -> None:
    import botwo

    _start_servers(out, servers)
    plain = {name: server.client() for name, server in servers.items()}
    s3: Any = None
    try:
        _show_credentials_checked(out, servers)
        _create_buckets(out, plain)
        s3 = botwo.client({"s3": plain["s3"], "lakefs": plain["lakefs"]}, MAPPING)
        demo = _Demo(out, servers, plain, s3)
        demo.show_mapping()
        out.line()
        out.line(
            "   "
            + out.paint(
                's3 = botwo.client({"s3": s3_server.client(), "lakefs": lakefs_server.client()}, MAPPING)',
                "bold",
            )
        )
        steps: Sequence[Callable[[], None]] = (
            demo.put_objects,
            demo.reads,
            demo.listings,
            demo.upload,
            demo.copy_and_delete,
            demo.missing,
            demo.presigned,
            demo.compare,
        )
        for step in steps:
            step()
    finally:
        if s3 is not None:
            s3.close()  # closes the underlying clients too
        else:
            for client in plain.values():
                client.close()


@contextlib.contextmanager
def _interrupts() -> Iterator[threading.Event]:
    """An event set on SIGINT (which still raises ``KeyboardInterrupt``), in the main thread."""
    event = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield event
        return

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        event.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield event
    finally:
        signal.signal(signal.SIGINT, previous)


def run(stream: TextIO | None = None, color: str = "auto") -> int:
    """Run the demo, writing to ``stream`` (stdout). Returns the process exit code."""
    stream = sys.stdout if stream is None else stream
    try:
        require_moto()
    except MissingDependency as err:
        print(f"botwo demo: {err}", file=sys.stderr)
        return 1
    from .testing import LocalS3Server

    out = _Out(stream, use_color(stream, color))
    out.line(
        out.paint("botwo demo", "bold") + ": one boto3 S3 client over S3 and lakeFS, "
        "routed by bucket/key rules"
    )
    servers: dict[str, Any] = {"s3": LocalS3Server("s3"), "lakefs": LocalS3Server("lakefs")}
    try:
        with _interrupts() as interrupted:
            try:
                _scenario(out, servers)
            except Exception:
                # Ctrl-C in a terminal also stops the servers (same process group); what
                # surfaces may then be a connection error, e.g. from s3transfer's cleanup.
                if interrupted.is_set():
                    raise KeyboardInterrupt from None
                for name, server in servers.items():
                    process = server._process
                    if process is not None and process.poll() is not None:
                        print(
                            f"botwo demo: the local S3 server {name!r} exited unexpectedly "
                            f"(exit code {process.returncode})",
                            file=sys.stderr,
                        )
                raise
    finally:
        for server in servers.values():
            server.stop()
    out.line()
    if out.problems:
        out.line(out.paint(f"FAILED: {len(out.problems)} unexpected result(s):", "red", "bold"))
        for problem in out.problems:
            out.line(f"  - {problem}")
        return 1
    out.line(
        out.paint("OK", "green", "bold") + ": the code kept its bucket and key names; "
        "botwo routed, renamed and translated back."
    )
    return 0
