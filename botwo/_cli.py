"""The operator commands: ``botwo check``, ``route``, ``ls``, ``cp``, ``rm``, ``sync`` and ``migrate``.

Every command builds its routing client with :func:`open_client` from the ``--config``
file (or the file ``botwo.client("s3")`` would find), so it sees exactly what an
application built from the same configuration sees: the caller's bucket and key names,
routed and renamed by the rules. ``ls``, ``cp`` and ``rm`` print what ``aws s3`` prints
(see :mod:`botwo._awsfmt`); ``check`` is in :mod:`botwo._check`.

Exit status, as the AWS CLI's ``s3`` commands:

* 0: everything was done;
* 1: something failed while running (a transfer, a delete, a listing, a probe), or
  ``ls`` of a prefix found nothing;
* 2: the command line or the configuration is wrong; nothing was sent.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import mimetypes
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any, TextIO

import attrs
from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, ClientError

from ._address import Namespaces
from ._awsfmt import (
    S3Url,
    bucket_line,
    display_path,
    failure_line,
    object_line,
    prefix_line,
    progress_line,
    split_scheme,
    summary_lines,
    transfer_line,
)
from ._check import add_check_parser, cmd_check
from ._client import RoutingClient
from ._migrate_cli import add_migrate_parser, run_migrate
from ._redact import hide_userinfo
from ._s3 import MAX_DELETE_KEYS, error_code
from ._sync_cli import add_sync_parser, run_sync
from .errors import BotwoError, ConfigError, served

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "Progress", "UsageError", "open_client", "register"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

#: Objects per ``delete_objects`` request (S3's limit) and per listing page.
DELETE_BATCH = MAX_DELETE_KEYS
#: Files transferred at once by ``cp --recursive`` (each transfer has its own threads).
CONCURRENCY = 4

log = logging.getLogger("botwo.cli")

Handler = Callable[[argparse.Namespace], int]
#: What a run can fail with and still be reported as one line (not a traceback).
RUN_ERRORS = (ClientError, BotoCoreError, Boto3Error, BotwoError, OSError)


class UsageError(Exception):
    """The command line is wrong (exit 2); the message says how."""


def reason(err: BaseException) -> str:
    """What failed, as aws says it: the service's error rather than boto3's wrapper, then
    the client that failed (``... [client 'lake']``) when botwo routed the failing call.

    ``upload_file`` raises ``S3UploadFailedError("Failed to upload f to b/k: An error
    occurred ...")`` from the ``ClientError``; aws prints the ``ClientError`` alone.
    A URL in it (a connection error names one) is shown without ``user:password@``.
    """
    cause = err.__cause__ or err.__context__
    shown = cause if isinstance(err, Boto3Error) and isinstance(cause, ClientError | BotoCoreError) else err
    text = hide_userinfo(str(shown))
    record = served(shown) or (served(shown.__cause__) if shown.__cause__ is not None else None)
    return f"{text} [client {record.client!r}]" if record is not None else text


# -- the client -----------------------------------------------------------------------


def open_client(config: str | None) -> RoutingClient:
    """The routing client of ``config`` (a file path; ``None``: the default search).

    Warnings about the rules (a rule that never matches, shared target namespaces) are
    printed on stderr as ``botwo: warning: ...``; ``botwo check`` explains them.
    """
    from ._factory import client

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s3 = client("s3", config=config)
    for warning in caught:
        print(f"botwo: warning: {warning.message}", file=sys.stderr)
    log.debug("configuration: %s", s3.settings.origin if s3.settings is not None else "(objects)")
    return s3


def endpoint_of(s3: RoutingClient, name: str) -> str:
    """A client's endpoint, without any user:password part (as ``repr(s3)`` shows it)."""
    return s3.backend_summaries()[name]["endpoint_url"] or "(boto3 default)"


# -- output ---------------------------------------------------------------------------


class Progress:
    """``Completed 5.0 MiB/10.0 MiB (2.1 MiB/s) with 1 file(s) remaining`` on one line.

    Fed by the transfers' ``Callback`` (from their threads). Shown only once a transfer
    has run for ``delay`` seconds, so small copies never draw it, and redrawn at most
    every ``interval`` seconds. :meth:`clear` erases it before a result line is printed.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        files: int,
        total: int | None,
        clock: Callable[[], float] = time.monotonic,
        delay: float = 0.5,
        interval: float = 0.2,
    ) -> None:
        self._stream = stream
        self._remaining = files
        self._total = total
        self._clock = clock
        self._start = clock()
        self._delay = delay
        self._interval = interval
        self._done = 0
        self._drawn_at: float | None = None
        self._width = 0
        self._lock = threading.Lock()

    def add(self, amount: int) -> None:
        """``amount`` more bytes moved (negative when a transfer retries a part)."""
        with self._lock:
            self._done += amount
            now = self._clock()
            if now - self._start < self._delay:
                return
            if self._drawn_at is not None and now - self._drawn_at < self._interval:
                return
            self._draw(now)

    def file_done(self) -> None:
        with self._lock:
            self._remaining -= 1

    def clear(self) -> None:
        """Erase the line, if drawn."""
        with self._lock:
            self._erase()

    def print_above(self, line: str, stream: TextIO) -> None:
        """Print ``line`` on ``stream`` where the progress line was; it is redrawn later."""
        with self._lock:
            self._erase()
            print(line, file=stream, flush=True)

    def _erase(self) -> None:
        if self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()
        self._width = 0
        self._drawn_at = None

    def _draw(self, now: float) -> None:
        speed = self._done / max(now - self._start, 1e-6)
        line = progress_line(self._done, self._total, speed, self._remaining)
        self._stream.write("\r" + line.ljust(self._width))
        self._stream.flush()
        self._width = len(line)
        self._drawn_at = now


class Reporter:
    """Result lines on stdout, failures on stderr, around an optional progress line."""

    def __init__(self, *, quiet: bool = False, progress: Progress | None = None) -> None:
        self.quiet = quiet
        self.progress = progress
        self.failures = 0
        self._lock = threading.Lock()

    def done(self, line: str) -> None:
        if not self.quiet:
            self._print(line, sys.stdout)

    def failed(self, line: str) -> None:
        with self._lock:
            self.failures += 1
        self._print(line, sys.stderr)

    def _print(self, line: str, stream: TextIO) -> None:
        with self._lock:
            if self.progress is not None:
                self.progress.print_above(line, stream)
            else:
                print(line, file=stream, flush=True)

    def callback(self) -> Callable[[int], None] | None:
        return self.progress.add if self.progress is not None else None

    def file_done(self) -> None:
        if self.progress is not None:
            self.progress.file_done()

    def finish(self) -> None:
        if self.progress is not None:
            self.progress.clear()

    @property
    def status(self) -> int:
        return EXIT_FAILED if self.failures else EXIT_OK


def _show_progress(args: argparse.Namespace) -> bool:
    return not (args.quiet or args.no_progress) and sys.stderr.isatty()


# -- route ----------------------------------------------------------------------------


def s3_arg(text: str, *, scheme_optional: bool = False, direct: bool = False) -> S3Url:
    """An ``s3://bucket/key`` argument (with ``direct``, ``CLIENT://bucket/key`` too); a
    malformed one is a usage error."""
    try:
        return S3Url.parse(text, scheme_optional=scheme_optional, direct=direct)
    except ValueError as err:
        raise UsageError(str(err)) from None


def namespace_of(names: Namespaces, url: S3Url | None, client: str | None = None) -> RoutingClient:
    """The client that serves ``url`` (or the namespace ``client``): the routing client for
    ``s3://``, the client's own view for ``CLIENT://``; an unknown client is a usage error."""
    try:
        return names.client_for(url) if url is not None else names.named(client)
    except ValueError as err:
        raise UsageError(str(err)) from None


def route_record(s3: RoutingClient, url: S3Url) -> dict[str, Any]:
    """Where ``url`` goes, as plain data (``botwo route --json``)."""
    decision = s3.route(url.bucket, url.key or None)
    return {
        "url": decision.url,
        "bucket": decision.bucket,
        "key": decision.key,
        "rule_index": decision.rule_index,
        "rule": decision.rule.to_dict(),
        "client": decision.client,
        "endpoint_url": endpoint_of(s3, decision.client),
        "target_bucket": decision.target_bucket,
        "target_key": decision.target_key,
        "target_url": decision.target_url,
        "fallback": list(decision.fallback),
        "readonly": decision.readonly,
    }


def route_lines(record: dict[str, Any]) -> list[str]:
    """One routing decision as text: the URL, then one indented line per fact."""
    fallback = record["fallback"]
    return [
        record["url"],
        f"  rule      mapping[{record['rule_index']}] {json.dumps(record['rule'])}",
        f"  client    {record['client']} ({record['endpoint_url']})",
        f"  target    {record['target_url']}",
        f"  fallback  {', '.join(fallback) if fallback else '(none)'}",
        f"  readonly  {'yes' if record['readonly'] else 'no'}",
    ]


def cmd_route(args: argparse.Namespace) -> int:
    urls = [s3_arg(text) for text in args.urls]
    s3 = open_client(args.config)
    records = [route_record(s3, url) for url in urls]
    if args.json:
        print(json.dumps(records, indent=2))
        return EXIT_OK
    for i, record in enumerate(records):
        if i:
            print()
        print("\n".join(route_lines(record)))
    return EXIT_OK


# -- ls -------------------------------------------------------------------------------


@attrs.define
class _Totals:
    objects: int = 0
    size: int = 0
    lines: int = 0


def _ls_buckets(s3: RoutingClient) -> Iterator[str]:
    for page in s3.get_paginator("list_buckets").paginate():
        for bucket in page.get("Buckets", []):
            yield bucket_line(bucket["Name"], bucket["CreationDate"])


def _ls_objects(s3: RoutingClient, url: S3Url, args: argparse.Namespace, totals: _Totals) -> Iterator[str]:
    params: dict[str, Any] = {"Bucket": url.bucket, "Prefix": url.key}
    if not args.recursive:
        params["Delimiter"] = "/"
    for page in s3.get_paginator("list_objects_v2").paginate(**params):
        for prefix in page.get("CommonPrefixes", []):
            yield prefix_line(prefix["Prefix"])
        for obj in page.get("Contents", []):
            totals.objects += 1
            totals.size += obj["Size"]
            yield object_line(
                obj["Key"],
                obj["Size"],
                obj["LastModified"],
                human=args.human_readable,
                full_key=args.recursive,
            )


def cmd_ls(args: argparse.Namespace) -> int:
    url, client = None, None
    if args.path and args.path != "s3://":
        client, rest = split_scheme(args.path)
        if client is None or rest:  # CLIENT:// alone lists that backend's buckets
            url = s3_arg(args.path, scheme_optional=True, direct=True)
    s3 = namespace_of(Namespaces(open_client(args.config)), url, client)
    totals = _Totals()
    lines = _ls_buckets(s3) if url is None else _ls_objects(s3, url, args, totals)
    try:
        for line in lines:
            totals.lines += 1
            print(line)
    except RUN_ERRORS as err:
        print(f"fatal error: {reason(err)}", file=sys.stderr)
        return EXIT_FAILED
    if args.summarize:
        print("\n".join(summary_lines(totals.objects, totals.size, human=args.human_readable)))
    # As `aws s3 ls`: a prefix that matches nothing is a failure, an empty bucket is not.
    return EXIT_FAILED if url is not None and url.key and not totals.lines else EXIT_OK


# -- cp -------------------------------------------------------------------------------

STREAM = "-"


@attrs.frozen
class Transfer:
    """One file or object to move: ``kind`` is upload, download or copy."""

    kind: str
    source: S3Url | str
    dest: S3Url | str
    size: int | None = None

    def location(self, cwd: str) -> tuple[str, str]:
        def show(end: S3Url | str) -> str:
            return str(end) if isinstance(end, S3Url) else display_path(end, cwd)

        return show(self.source), show(self.dest)


def _kind(source: S3Url | str, dest: S3Url | str) -> str:
    if isinstance(source, S3Url):
        return "copy" if isinstance(dest, S3Url) else "download"
    if isinstance(dest, S3Url):
        return "upload"
    raise UsageError("one of SRC and DST must be an s3:// URL")


def _endpoint_arg(text: str) -> S3Url | str:
    """An address (``s3://``, ``CLIENT://``: anything of the form ``NAME://``) or a local path."""
    return s3_arg(text, direct=True) if split_scheme(text)[1] is not None else text


def plan_single(source: S3Url | str, dest: S3Url | str, size: int | None) -> Transfer:
    """One transfer; a destination that is a directory or prefix takes the source's name."""
    kind = _kind(source, dest)
    name = source.basename if isinstance(source, S3Url) else os.path.basename(source)
    if isinstance(dest, S3Url):
        target: S3Url | str = dest.child(name) if dest.is_dir else dest
    elif dest.endswith(os.sep) or os.path.isdir(dest):
        target = os.path.join(dest, name)
    else:
        target = dest
    return Transfer(kind, source, target, size)


def relative_key_path(root: str, relative: str) -> str:
    """``root`` joined with an object's key below the source prefix, as a local path.

    Raises ``ValueError`` for a key that would land outside ``root`` (``..`` parts, an
    absolute path).
    """
    parts = relative.split("/")
    path = os.path.join(root, *[p for p in parts if p])
    inside = os.path.normpath(path).startswith(os.path.join(os.path.normpath(root), ""))
    if any(p in ("..", ".") for p in parts) or relative.startswith("/") or not inside:
        raise ValueError(f"the key refers outside the destination directory: {relative!r}")
    return path


def plan_tree(
    source: S3Url | str, dest: S3Url | str, items: Sequence[tuple[str, int]]
) -> Iterator[Transfer | tuple[str, str]]:
    """The transfers of ``cp --recursive``: one per (relative name, size) under ``source``.

    A name that cannot be placed yields ``(source, why)`` instead.
    """
    kind = _kind(source, dest)
    for relative, size in items:
        src: S3Url | str = (
            source.child(relative) if isinstance(source, S3Url) else os.path.join(source, relative)
        )
        if isinstance(dest, S3Url):
            yield Transfer(kind, src, dest.child(relative), size)
            continue
        try:
            yield Transfer(kind, src, relative_key_path(dest, relative), size)
        except ValueError as err:
            yield (str(src), str(err))


def _as_dir(url: S3Url) -> S3Url:
    return url if url.is_dir else url.with_key(url.key + "/")


def _list_tree(s3: RoutingClient, url: S3Url, *, skip_dirs: bool) -> list[tuple[str, int]]:
    """(key below ``url``, size) of every object under ``url``'s prefix, in key order."""
    url = _as_dir(url)
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=url.bucket, Prefix=url.key):
        for obj in page.get("Contents", []):
            relative = obj["Key"][len(url.key) :]
            if relative and not (skip_dirs and relative.endswith("/")):
                found.append((relative, obj["Size"]))
    return found


def _walk(root: str) -> list[tuple[str, int]]:
    """(path below ``root`` with ``/`` separators, size) of every file, sorted."""
    found = []
    for directory, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, root).replace(os.sep, "/")
            found.append((relative, os.path.getsize(path)))
    return sorted(found)


def _run_transfer(names: Namespaces, transfer: Transfer, callback: Callable[[int], None] | None) -> None:
    source, dest = transfer.source, transfer.dest
    if isinstance(source, str) and isinstance(dest, S3Url):
        content_type = mimetypes.guess_type(source)[0]
        extra = {"ContentType": content_type} if content_type else None
        names.client_for(dest).upload_file(source, dest.bucket, dest.key, ExtraArgs=extra, Callback=callback)
    elif isinstance(source, S3Url) and isinstance(dest, str):
        parent = os.path.dirname(dest)
        if parent:
            os.makedirs(parent, exist_ok=True)
        names.client_for(source).download_file(source.bucket, source.key, dest, Callback=callback)
    elif isinstance(source, S3Url) and isinstance(dest, S3Url) and source.client == dest.client:
        s3 = names.client_for(source)
        s3.copy({"Bucket": source.bucket, "Key": source.key}, dest.bucket, dest.key, Callback=callback)
    elif isinstance(source, S3Url) and isinstance(dest, S3Url):
        # Between namespaces (s3:// and CLIENT://, or two clients): the copy engine, whole.
        names.copy(source, dest, transfer.size)
        if callback is not None and transfer.size:
            callback(transfer.size)
    else:  # pragma: no cover - _kind refuses local to local
        raise AssertionError(transfer)


def _transfer_one(names: Namespaces, transfer: Transfer, report: Reporter, cwd: str) -> None:
    source, dest = transfer.location(cwd)
    log.debug("%s %s -> %s", transfer.kind, source, dest)
    try:
        _run_transfer(names, transfer, report.callback())
    except RUN_ERRORS as err:
        report.failed(failure_line(transfer.kind, source, dest, reason(err)))
    else:
        report.done(transfer_line(transfer.kind, source, dest))
    finally:
        report.file_done()


def _run_all(names: Namespaces, transfers: Sequence[Transfer], report: Reporter) -> None:
    cwd = os.getcwd()
    if len(transfers) == 1:
        _transfer_one(names, transfers[0], report, cwd)
        return
    with ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="botwo-cp") as pool:
        for future in [pool.submit(_transfer_one, names, t, report, cwd) for t in transfers]:
            future.result()


def _progress(args: argparse.Namespace, transfers: Sequence[Transfer]) -> Progress | None:
    if not _show_progress(args):
        return None
    sizes = [t.size for t in transfers]
    total = None if any(s is None for s in sizes) else sum(s for s in sizes if s is not None)
    return Progress(sys.stderr, files=len(transfers), total=total)


def _head_size(s3: RoutingClient, url: S3Url) -> int:
    """The size of a source object; a missing one is aws's ``Key "k" does not exist``
    (awscli's file generator rewrites HeadObject's bare 404 so, with the key as given)."""
    try:
        size: int = s3.head_object(Bucket=url.bucket, Key=url.key)["ContentLength"]
    except ClientError as err:
        if error_code(err) != "404":
            raise
        response: Any = {**err.response, "Error": {**err.response.get("Error", {})}}
        response["Error"]["Message"] = f'Key "{url.key}" does not exist'
        raise type(err)(response, "HeadObject") from err
    return size


def _plan(
    names: Namespaces, source: S3Url | str, dest: S3Url | str, recursive: bool
) -> tuple[list[Transfer], list[tuple[str, str]]]:
    """The transfers to run, and the sources that cannot be placed (with why).

    The source is read first, so a missing bucket or key is a ``fatal error`` before
    anything is written (as aws does, with a ``HeadObject`` for one object).
    """
    if not recursive:
        if isinstance(source, S3Url):
            if source.is_dir:
                raise UsageError(f"{source} is not an object: give its key, or use --recursive")
            return [plan_single(source, dest, _head_size(names.client_for(source), source))], []
        return [plan_single(source, dest, os.path.getsize(source))], []
    if isinstance(source, S3Url):
        items = _list_tree(names.client_for(source), source, skip_dirs=not isinstance(dest, S3Url))
        source = _as_dir(source)
    else:
        items = _walk(source)
    transfers: list[Transfer] = []
    skipped: list[tuple[str, str]] = []
    for item in plan_tree(source, dest, items):
        if isinstance(item, Transfer):
            transfers.append(item)
        else:
            skipped.append(item)
    return transfers, skipped


def _check_local_source(source: S3Url | str, recursive: bool) -> None:
    if isinstance(source, S3Url) or source == STREAM:
        return
    if not os.path.exists(source):
        raise UsageError(f"the user-provided path {source} does not exist")
    if recursive and not os.path.isdir(source):
        raise UsageError(f"{source} is not a directory (--recursive copies a directory)")
    if not recursive and os.path.isdir(source):
        raise UsageError(f"{source} is a directory: use --recursive")


def _stream(names: Namespaces, source: S3Url | str, dest: S3Url | str) -> int:
    """``cp - s3://b/k`` (stdin) and ``cp s3://b/k -`` (stdout); like aws, no result line."""
    if isinstance(dest, S3Url):
        if dest.is_dir:
            raise UsageError(f"uploading from stdin needs a full key, not {dest}")
        stdin: IO[bytes] = sys.stdin.buffer
        names.client_for(dest).upload_fileobj(stdin, dest.bucket, dest.key)
        return EXIT_OK
    assert isinstance(source, S3Url)
    if source.is_dir:
        raise UsageError(f"{source} is not an object: give its key")
    s3 = names.client_for(source)
    _head_size(s3, source)  # a missing key is a fatal error before anything is written
    stdout = _NonSeekable(sys.stdout.buffer)
    s3.download_fileobj(source.bucket, source.key, stdout)
    stdout.flush()
    return EXIT_OK


class _NonSeekable(io.RawIOBase):
    """stdout for ``download_fileobj``: written in order, never seeked.

    s3transfer writes parts at their offsets when the file object can seek; stdout
    redirected to a file can, and a seek to offset 0 there would overwrite what the file
    held before (``botwo cp s3://b/k - >> log``).
    """

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__()
        self._stream = stream

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, data: Any) -> int:
        self._stream.write(data)
        return len(data)

    def flush(self) -> None:
        self._stream.flush()


def cmd_cp(args: argparse.Namespace) -> int:
    source, dest = _endpoint_arg(args.source), _endpoint_arg(args.dest)
    streaming = STREAM in (source, dest)
    if streaming and args.recursive:
        raise UsageError("- (stdin/stdout) cannot be used with --recursive")
    if (source == STREAM and not isinstance(dest, S3Url)) or (
        dest == STREAM and not isinstance(source, S3Url)
    ):
        raise UsageError("- (stdin/stdout) needs an s3:// URL on the other side")
    if not streaming:
        _kind(source, dest)
    _check_local_source(source, args.recursive)
    names = Namespaces(open_client(args.config))
    for end in (source, dest):
        if isinstance(end, S3Url):
            namespace_of(names, end)  # an unknown CLIENT:// is a usage error
    try:
        if streaming:
            return _stream(names, source, dest)
        transfers, skipped = _plan(names, source, dest, args.recursive)
    except RUN_ERRORS as err:
        print(f"fatal error: {reason(err)}", file=sys.stderr)
        return EXIT_FAILED
    report = Reporter(quiet=args.quiet, progress=_progress(args, transfers))
    for where, why in skipped:
        report.failed(f"download failed: {where} {why}")
    try:
        _run_all(names, transfers, report)
    finally:
        report.finish()
    return report.status


# -- rm -------------------------------------------------------------------------------


def _delete_one(s3: RoutingClient, url: S3Url, report: Reporter) -> None:
    try:
        s3.delete_object(Bucket=url.bucket, Key=url.key)
    except RUN_ERRORS as err:
        report.failed(failure_line("delete", str(url), None, reason(err)))
    else:
        report.done(transfer_line("delete", str(url)))


def _delete_batch(s3: RoutingClient, where: S3Url, keys: Sequence[str], report: Reporter) -> None:
    """One ``delete_objects`` request; every key reported as deleted or failed.

    Keys on a read-only route would make botwo refuse the whole request, so they are
    taken out first and each refused on its own (``delete_object`` raises
    ``ReadOnlyError`` before anything is sent); the others are deleted.
    """
    bucket = where.bucket
    frozen = {k for k in keys if s3.route(bucket, k).readonly}
    for key in sorted(frozen):
        _delete_one(s3, where.with_key(key), report)
    keys = [k for k in keys if k not in frozen]
    if not keys:
        return
    try:
        response = s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": False}
        )
    except RUN_ERRORS as err:
        for key in keys:
            report.failed(failure_line("delete", str(where.with_key(key)), None, reason(err)))
        return
    for deleted in response.get("Deleted", []):
        report.done(transfer_line("delete", str(where.with_key(deleted["Key"]))))
    for error in response.get("Errors", []):
        key = error.get("Key", "")
        why = (
            f"An error occurred ({error.get('Code', 'Unknown')}) when calling the DeleteObjects "
            f"operation: {error.get('Message', '')} [client {s3.route(bucket, key).client!r}]"
        )
        report.failed(failure_line("delete", str(where.with_key(key)), None, why))


def _rm_tree(s3: RoutingClient, url: S3Url, report: Reporter) -> None:
    """Delete every object under ``url``'s prefix, a listing page (one batch) at a time.

    Deleting the keys of a page before asking for the next is safe: a continuation token
    resumes after the last key listed, whether or not that key still exists.
    """
    url = _as_dir(url)
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=url.bucket, Prefix=url.key, PaginationConfig={"PageSize": DELETE_BATCH}
    )
    batch: list[str] = []
    for page in pages:
        batch.extend(obj["Key"] for obj in page.get("Contents", []))
        while len(batch) >= DELETE_BATCH:
            _delete_batch(s3, url, batch[:DELETE_BATCH], report)
            del batch[:DELETE_BATCH]
    if batch:
        _delete_batch(s3, url, batch, report)


def cmd_rm(args: argparse.Namespace) -> int:
    url = s3_arg(args.path, direct=True)
    if not args.recursive and not url.key:
        raise UsageError(f"{args.path} names no object: give s3://bucket/key, or use --recursive")
    s3 = namespace_of(Namespaces(open_client(args.config)), url)
    report = Reporter(quiet=args.quiet)
    if not args.recursive:
        _delete_one(s3, url, report)
        return report.status
    try:
        _rm_tree(s3, url, report)
    except RUN_ERRORS as err:
        print(f"fatal error: {reason(err)}", file=sys.stderr)
        return EXIT_FAILED
    return report.status


# -- sync -----------------------------------------------------------------------------


def cmd_sync(args: argparse.Namespace) -> int:
    """``botwo sync SRC DST`` (see :mod:`botwo._sync_cli`)."""
    return run_sync(args, open_client(args.config))


def cmd_migrate(args: argparse.Namespace) -> int:
    """``botwo migrate URL`` (see :mod:`botwo._migrate_cli`)."""
    return run_migrate(args, open_client(args.config))


# -- the command line -----------------------------------------------------------------


def _setup_logging(debug: bool) -> None:
    if not debug:
        return
    logger = logging.getLogger("botwo")
    if not any(getattr(h, "_botwo_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        handler._botwo_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


def _guarded(name: str, command: Handler) -> Handler:
    """Run ``command``: usage and configuration errors exit 2 with one line on stderr."""

    def run(args: argparse.Namespace) -> int:
        _setup_logging(args.debug)
        try:
            return command(args)
        except UsageError as err:
            print(f"botwo {name}: error: {err}", file=sys.stderr)
            return EXIT_USAGE
        except ConfigError as err:
            print(f"botwo {name}: configuration error: {err}", file=sys.stderr)
            return EXIT_USAGE
        except BrokenPipeError:
            # `botwo ls | head`: the reader is gone; stop quietly, as a pipeline expects.
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_FAILED

    return run


def add_global_options(parser: argparse.ArgumentParser, *, defaults: bool = True) -> None:
    """``--config`` and ``--debug``, accepted before or after the command name.

    The top-level parser has the defaults (``None``, ``False``); the commands' parent
    parser is given ``defaults=False`` (``argparse.SUPPRESS``) so that a command without
    the option keeps the value given before the command name.
    """
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=None if defaults else argparse.SUPPRESS,
        help="the configuration file (default: $BOTWO_CONFIG, ./botwo.toml, then the user config dir)",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=False if defaults else argparse.SUPPRESS,
        help="log botwo's routing decisions (logger 'botwo', DEBUG) on stderr",
    )


def _transfer_options(parser: argparse.ArgumentParser, *, progress: bool) -> None:
    parser.add_argument("--recursive", action="store_true", help="every object under the prefix")
    parser.add_argument("--quiet", action="store_true", help="print only errors")
    if progress:
        parser.add_argument("--no-progress", action="store_true", help="no progress display on stderr")


def register(commands: Any) -> None:
    """Add ``check``, ``route``, ``ls``, ``cp``, ``rm``, ``sync`` and ``migrate`` to ``commands``
    (argparse subparsers)."""
    parent = argparse.ArgumentParser(add_help=False)
    add_global_options(parent, defaults=False)
    check = add_check_parser(commands, parent)
    check.set_defaults(handler=_guarded("check", cmd_check))

    route = commands.add_parser(
        "route",
        parents=[parent],
        help="show which rule, client and target serve an s3:// URL",
        description="For each s3://bucket/key (or s3://bucket for calls that name only a bucket): "
        "the rule that matches, the client that serves it, the target bucket and key, fallbacks "
        "and read-only. Nothing is sent.",
    )
    route.add_argument("urls", nargs="+", metavar="URL", help="s3://bucket[/key]")
    route.add_argument("--json", action="store_true", help="print JSON")
    route.set_defaults(handler=_guarded("route", cmd_route))

    ls = commands.add_parser(
        "ls",
        parents=[parent],
        help="list buckets, or objects under a prefix (as aws s3 ls)",
        description="List every bucket (no URL), or the objects and common prefixes under "
        "s3://bucket/prefix, in the caller's names, shaped like `aws s3 ls`.",
    )
    ls.add_argument("path", nargs="?", metavar="s3://bucket[/prefix]")
    ls.add_argument("--recursive", action="store_true", help="every object under the prefix, full keys")
    ls.add_argument("--human-readable", action="store_true", help="sizes in KiB, MiB, ...")
    ls.add_argument("--summarize", action="store_true", help="print the object count and total size")
    ls.set_defaults(handler=_guarded("ls", cmd_ls))

    cp = commands.add_parser(
        "cp",
        parents=[parent],
        help="copy files and objects (as aws s3 cp), across backends too",
        description="Copy a local file or an object to another place: local -> s3, s3 -> local, "
        "s3 -> s3 (streamed between backends when the two URLs route to different clients). "
        "'-' is stdin (as SRC) or stdout (as DST).",
    )
    cp.add_argument("source", metavar="SRC", help="a local path, s3://bucket/key or -")
    cp.add_argument("dest", metavar="DST", help="a local path, s3://bucket/key or -")
    _transfer_options(cp, progress=True)
    cp.set_defaults(handler=_guarded("cp", cmd_cp))

    rm = commands.add_parser(
        "rm",
        parents=[parent],
        help="delete an object, or every object under a prefix",
        description="Delete s3://bucket/key, or with --recursive every object under the prefix "
        f"(delete_objects, {DELETE_BATCH} keys per request).",
    )
    rm.add_argument("path", metavar="s3://bucket/key")
    _transfer_options(rm, progress=False)
    rm.set_defaults(handler=_guarded("rm", cmd_rm))

    sync = add_sync_parser(commands, parent)
    sync.set_defaults(handler=_guarded("sync", cmd_sync))
    migrate = add_migrate_parser(commands, parent)
    migrate.set_defaults(handler=_guarded("migrate", cmd_migrate))
