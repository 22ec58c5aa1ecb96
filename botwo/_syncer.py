"""The shell of a sync: list both sides, fetch what a comparison needs, copy, delete, report.

:func:`sync` is ``botwo.sync(client, src, dst, ...)`` and what ``botwo sync`` runs. The
decisions are :mod:`botwo._sync`'s (pure); this module only does the I/O around them:

1. The two addresses are resolved (:class:`botwo._address.Namespaces`) and checked:
   an unknown client, overlapping source and destination, or a destination that a
   read-only rule serves is refused before anything is sent.
2. Each side is listed with ``list_objects_v2`` (through the routing client for
   ``s3://``, so a bucket split over several backends lists as one), a page at a time;
   each page is checked to be in S3's order and under the prefix, else
   :class:`~botwo.errors.ListingOrderError` names the backend.
3. The main thread merges the two listings and decides each key. A key that needs I/O
   (a HEAD, a hash, a copy, a batch of deletes) goes to a pool of ``transfers`` threads,
   through a window of ``2 * transfers`` tasks, so the main thread never runs ahead of the
   work by more than that.
4. Every key's :class:`~botwo._sync.SyncRecord` is written, as it is known, to the
   report file (JSON lines, flushed line by line) or a temporary one; the
   :class:`SyncReport` reads them back as an iterator.

Memory stays flat whatever the number of keys: one listing page of each side (1,000
entries), the ``2 * transfers`` tasks in the window, the copies in flight (each bounded
by the copy engine: ``(concurrency + read_streams) * part_size``), a batch of at most
1,000 keys to delete, and the first :data:`KEPT_FAILURES` failures.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any

import attrs
from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, ClientError

from ._address import Namespaces
from ._awsfmt import S3Url
from ._client import RoutingClient
from ._rules import compile_glob
from ._s3 import MAX_DELETE_KEYS, MAX_PAGE, MiB, error_code
from ._sync import (
    ACTIONS,
    Checksums,
    Entry,
    FilterItem,
    KeyFilter,
    Known,
    Layout,
    SyncRecord,
    Verdict,
    as_dir,
    compare,
    dot_segments,
    entry_of,
    merge,
    out_of_order,
    overlap,
    summary_text,
)
from .errors import AddressError, BotwoError, ListingOrderError, ReadOnlyError, Side, SyncError

__all__ = ["KEPT_FAILURES", "SyncEnds", "SyncProgress", "SyncReport", "filter_of", "sync", "sync_ends"]

#: How many failed records a :class:`SyncReport` keeps in memory (all are in the report).
KEPT_FAILURES = 1000
#: Objects are hashed (``--checksum``) this many bytes at a time.
_HASH_CHUNK = 1 * MiB
#: What a key's step can fail with and be recorded (not stop the sync).
_STEP_ERRORS = (ClientError, BotoCoreError, Boto3Error, BotwoError, OSError)

Filters = Sequence[FilterItem]


@attrs.frozen(kw_only=True)
class SyncProgress:
    """Where a running sync is: what ``on_progress`` is given after each key.

    ``objects_total`` and ``bytes_total`` count the copies found so far (the listings are
    still being read until ``listed``); ``compared`` is every key decided.
    """

    objects_done: int
    objects_total: int
    bytes_done: int
    bytes_total: int
    compared: int
    elapsed: float
    listed: bool


@attrs.frozen(kw_only=True)
class SyncReport:
    """What a sync did: counts per action, bytes, the failures, and every key's record.

    ``counts`` has every action (``copied``, ``deleted``, ``same``, ``missing``,
    ``differs``, ``extra``, ``failed``); ``failures`` holds the first
    :data:`KEPT_FAILURES` failed records; :meth:`records` iterates over all the records,
    read back from the report file (in the order they were decided). ``ok`` is true when
    the source and the destination agree at the end.
    """

    source: str
    destination: str
    dry_run: bool
    delete: bool
    counts: Mapping[str, int]
    bytes_copied: int
    bytes_to_copy: int
    failures: tuple[SyncRecord, ...]
    elapsed: float
    report_path: str | None = None
    _store: str = attrs.field(repr=False, eq=False, alias="store")

    @property
    def ok(self) -> bool:
        """Whether the destination agrees with the source: nothing failed, nothing is left
        to copy and (with ``delete``) nothing is left only at the destination."""
        c = self.counts
        left = c["missing"] + c["differs"] + (c["extra"] if self.delete else 0)
        return c["failed"] == 0 and left == 0

    @property
    def copied(self) -> int:
        return self.counts["copied"]

    @property
    def deleted(self) -> int:
        return self.counts["deleted"]

    @property
    def same(self) -> int:
        return self.counts["same"]

    @property
    def failed(self) -> int:
        return self.counts["failed"]

    def records(self) -> Iterator[SyncRecord]:
        """Every key's record, in the order they were decided (read from the file)."""
        with open(self._store, encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    yield SyncRecord.from_json(line)

    def summary(self) -> str:
        return summary_text(
            self.counts,
            bytes_copied=self.bytes_copied,
            bytes_to_copy=self.bytes_to_copy,
            elapsed=self.elapsed,
            dry_run=self.dry_run,
        )

    def __str__(self) -> str:
        return f"{self.source} -> {self.destination}: {self.summary()}"


class _Recorder:
    """The records so far: written to the report, counted, shown (thread-safe)."""

    def __init__(
        self,
        stream: IO[str],
        on_record: Callable[[SyncRecord], None] | None,
        on_progress: Callable[[SyncProgress], None] | None,
        clock: Callable[[], float],
    ) -> None:
        self._stream = stream
        self._on_record = on_record
        self._on_progress = on_progress
        self._clock = clock
        self.start = clock()
        self.counts: dict[str, int] = dict.fromkeys(ACTIONS, 0)
        self.bytes_copied = 0
        self.bytes_to_copy = 0
        self.objects_to_copy = 0
        self.objects_copied = 0
        self.failures: list[SyncRecord] = []
        self.listed = False
        self._lock = threading.Lock()

    def to_copy(self, size: int) -> None:
        with self._lock:
            self.objects_to_copy += 1
            self.bytes_to_copy += size

    def add(self, record: SyncRecord) -> None:
        with self._lock:
            self._stream.write(record.to_json() + "\n")
            self._stream.flush()
            self.counts[record.action] += 1
            if record.action == "copied":
                self.objects_copied += 1
                self.bytes_copied += record.source_size or 0
            if record.action == "failed" and len(self.failures) < KEPT_FAILURES:
                self.failures.append(record)
            if self._on_record is not None:
                self._on_record(record)
            if self._on_progress is not None:
                self._on_progress(self.progress())

    def progress(self) -> SyncProgress:
        return SyncProgress(
            objects_done=self.objects_copied,
            objects_total=self.objects_to_copy,
            bytes_done=self.bytes_copied,
            bytes_total=self.bytes_to_copy,
            compared=sum(self.counts.values()),
            elapsed=self._clock() - self.start,
            listed=self.listed,
        )


@attrs.frozen
class SyncEnds:
    """The two addresses of a sync, taken as directories, and who serves them."""

    names: Namespaces
    source: S3Url
    dest: S3Url

    def at(self, side: Side, key: str) -> S3Url:
        base = self.source if side == "source" else self.dest
        return base.with_key(base.key + key)

    def client(self, side: Side) -> RoutingClient:
        """What lists and reads a side: the source as its readers see it (fallbacks
        included), the destination as its writes see it (see :meth:`Namespaces.for_writes`)."""
        if side == "source":
            return self.names.client_for(self.source)
        return self.names.for_writes(self.dest)

    def who(self, side: Side, key: str) -> str:
        """``source aws://b/k (client 'aws', direct)``, for messages."""
        return self.describe(side, self.at(side, key))

    def describe(self, side: Side, url: S3Url) -> str:
        """``source aws://b/k (client 'aws', direct)`` for any address of a side."""
        try:
            return f"{side} {url} ({self.names.place(url).describe()})"
        except (ValueError, BotwoError):
            return f"{side} {url}"


def _refuse_readonly(ends: SyncEnds) -> None:
    """Refuse a destination that a read-only rule serves, before anything is sent.

    Checked on the route of the destination's prefix itself and on every rule whose
    ``prefix`` lies inside it (or contains it), as the routing client decides them.
    """
    dest = ends.dest
    if dest.client is not None:
        return
    routing = ends.names.routing
    probes = {dest.key}
    for rule in routing.rules:
        if not rule.prefix or not compile_glob(rule.bucket_name).fullmatch(dest.bucket):
            continue
        if rule.prefix.startswith(dest.key) or dest.key.startswith(rule.prefix):
            probes.add(max(rule.prefix, dest.key, key=len))
    for probe in sorted(probes):
        decision = routing.route(dest.bucket, probe)
        if decision.readonly:
            raise ReadOnlyError.refuse(
                "Sync",
                f"the destination {dest} is read-only: {decision.url} goes through mapping"
                f"[{decision.rule_index}] (client {decision.client!r}), which has readonly = true; "
                "nothing was sent",
                route=None,
            )


def _listing(
    ends: SyncEnds, side: Side, admits: Callable[[str], bool], url: S3Url | None = None
) -> Iterator[Entry]:
    """The entries under one side's prefix, a page at a time, checked to be in order.

    ``url`` lists another address in that side's place (a mask of the source: another
    backend's copy of the same names, see :func:`sync_ends`)."""
    if url is None:
        url = ends.source if side == "source" else ends.dest
        client = ends.client(side)
    else:
        client = ends.names.client_for(url)
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=url.bucket, Prefix=url.key, PaginationConfig={"PageSize": MAX_PAGE}
    )
    previous: str | None = None
    try:
        for page in pages:
            contents = page.get("Contents", [])
            keys = [item["Key"] for item in contents]
            bad = out_of_order(previous, keys)
            if bad is not None:
                raise _order_error(ends, side, url, previous if bad == 0 else keys[bad - 1], keys[bad])
            for item in contents:
                if not item["Key"].startswith(url.key):
                    raise _order_error(ends, side, url, None, item["Key"])
                entry = entry_of(item, url.key)
                if entry.key and admits(entry.key):
                    yield entry
            if keys:
                previous = keys[-1]
    except (ClientError, BotoCoreError) as err:
        raise SyncError(f"listing the {ends.describe(side, url)} failed: {err}") from err


def _order_error(ends: SyncEnds, side: Side, url: S3Url, previous: str | None, key: str) -> ListingOrderError:
    try:
        client = ends.names.place(url.with_key(key)).client
    except (ValueError, BotwoError):
        client = url.client or "?"
    if previous is None:
        what = f"listed {key!r}, which is not under the prefix {url.key!r}"
    else:
        what = f"listed {key!r} after {previous!r}, out of S3's order (UTF-8 bytes)"
    return ListingOrderError(
        f"the {side} {url} (client {client!r}) {what}: a merge of such a listing would miss "
        "keys, so the sync stopped",
        side=side,
        client=client,
        bucket=url.bucket,
        previous=previous,
        key=key,
    )


class _Run:
    """One sync's work after the listings: compare, copy, delete, record."""

    def __init__(
        self,
        ends: SyncEnds,
        recorder: _Recorder,
        *,
        dry_run: bool,
        delete: bool,
        checksum: bool,
    ) -> None:
        self.ends = ends
        self.recorder = recorder
        self.dry_run = dry_run
        self.delete = delete
        self.checksum = checksum

    # -- per key ----------------------------------------------------------------------

    def first_look(self, key: str, src: Entry | None, dst: Entry | None) -> Callable[[], None] | None:
        """Decide ``key`` without I/O if possible (recording it); else the task to run."""
        if src is None:
            assert dst is not None
            if self.delete and not self.dry_run:
                return None  # batched by the caller
            reason = (
                "only at the destination: --delete would delete it"
                if self.delete
                else "only at the destination (kept: no --delete)"
            )
            self._record(key, "extra", "delete", src, dst, reason)
            return None
        if dst is None:
            return self._copy_task(
                key, src, dst, Verdict("differs", "missing at the destination"), missing=True
            )
        verdict = compare(src, dst, checksum=self.checksum)
        if verdict.outcome == "needs":
            return lambda: self._compare_and_copy(key, src, dst, verdict)
        if verdict.outcome == "same":
            self._record(key, "same", "compare", src, dst, verdict.reason)
            return None
        return self._copy_task(key, src, dst, verdict, missing=False)

    def _copy_task(
        self, key: str, src: Entry, dst: Entry | None, verdict: Verdict, *, missing: bool
    ) -> Callable[[], None] | None:
        self.recorder.to_copy(src.size)
        if self.dry_run:
            self._record(key, "missing" if missing else "differs", "compare", src, dst, verdict.reason)
            return None
        return lambda: self._copy(key, src, dst, verdict.reason)

    def _compare_and_copy(self, key: str, src: Entry, dst: Entry, verdict: Verdict) -> None:
        known = Known()
        try:
            while verdict.outcome == "needs":
                known = self._fetch(key, verdict, known)
                verdict = compare(src, dst, checksum=self.checksum, known=known)
        except _Failed as failed:
            self._record(key, "failed", "compare", src, dst, failed.reason)
            return
        if verdict.outcome == "same":
            self._record(key, "same", "compare", src, dst, verdict.reason)
            return
        task = self._copy_task(key, src, dst, verdict, missing=False)
        if task is not None:
            task()

    def _fetch(self, key: str, verdict: Verdict, known: Known) -> Known:
        """What ``verdict`` needs, from both sides."""
        if verdict.needs == "layout":
            return attrs.evolve(
                known,
                source_layout=self._layout("source", key),
                dest_layout=self._layout("destination", key),
                layouts_fetched=True,
            )
        if verdict.needs == "checksums":
            return attrs.evolve(
                known,
                source_checksums=self._checksums("source", key),
                dest_checksums=self._checksums("destination", key),
            )
        return attrs.evolve(
            known, source_hash=self._hash("source", key), dest_hash=self._hash("destination", key)
        )

    def _head(self, side: Side, key: str, **extra: Any) -> Mapping[str, Any]:
        url = self.ends.at(side, key)
        try:
            head: Mapping[str, Any] = self.ends.client(side).head_object(
                Bucket=url.bucket, Key=url.key, **extra
            )
        except _STEP_ERRORS as err:
            raise _Failed(f"{self.ends.who(side, key)}: {_message(err)}") from err
        return head

    def _layout(self, side: Side, key: str) -> Layout | None:
        head = self._head(side, key, PartNumber=1)
        parts, size = head.get("PartsCount"), head.get("ContentLength")
        if isinstance(parts, int) and isinstance(size, int):
            return Layout(parts, size)
        return None

    def _checksums(self, side: Side, key: str) -> Checksums:
        return Checksums.of_head(self._head(side, key, ChecksumMode="ENABLED"))

    def _hash(self, side: Side, key: str) -> str:
        url = self.ends.at(side, key)
        digest = hashlib.sha256()
        try:
            body = self.ends.client(side).get_object(Bucket=url.bucket, Key=url.key)["Body"]
            with contextlib.closing(body):
                for chunk in iter(functools.partial(body.read, _HASH_CHUNK), b""):
                    digest.update(chunk)
        except _STEP_ERRORS as err:
            raise _Failed(f"{self.ends.who(side, key)}: {_message(err)}") from err
        return digest.hexdigest()

    def _copy(self, key: str, src: Entry, dst: Entry | None, reason: str) -> None:
        source, dest = self.ends.at("source", key), self.ends.at("destination", key)
        ends: tuple[tuple[Side, S3Url], ...] = (("source", source), ("destination", dest))
        for side, url in ends:
            if dot_segments(url.key):
                self._record(
                    key,
                    "failed",
                    "copy",
                    src,
                    dst,
                    f"{side} {url}: the key has '.' or '..' path segments, which servers and HTTP "
                    "clients that normalize URL paths resolve to another key; not copied",
                )
                return
        try:
            self.ends.names.copy(source, dest, src.size)
        except _STEP_ERRORS as err:
            blamed, client = self.ends.names.blame(err, source, dest)
            if blamed is None:
                where = f"copy {source} to {dest}"
            else:
                url = source if blamed == "source" else dest
                where = f"{blamed} {url}" + (f" (client {client!r})" if client else "")
            self._record(key, "failed", "copy", src, dst, f"{where}: {_message(err)}")
            return
        self._record(key, "copied", "copy", src, dst, reason)

    # -- deletes ----------------------------------------------------------------------

    def delete_batch(self, batch: Sequence[Entry]) -> None:
        """Delete the destination's keys of ``batch`` (one ``delete_objects``)."""
        dest = self.ends.dest
        keep: list[Entry] = []
        for entry in batch:
            full = dest.key + entry.key
            # Never anything outside the destination: the key came from its listing.
            assert full.startswith(dest.key)
            if dot_segments(full):
                self._record(
                    entry.key,
                    "failed",
                    "delete",
                    None,
                    entry,
                    f"destination {dest.with_key(full)}: the key has '.' or '..' path segments, which "
                    "servers and HTTP clients that normalize URL paths resolve to another key; not deleted",
                )
            else:
                keep.append(entry)
        if not keep:
            return
        by_key = {dest.key + e.key: e for e in keep}
        try:
            response = self.ends.client("destination").delete_objects(
                Bucket=dest.bucket,
                Delete={"Objects": [{"Key": k} for k in by_key], "Quiet": False},
            )
        except _STEP_ERRORS as err:
            for entry in keep:
                self._record(
                    entry.key,
                    "failed",
                    "delete",
                    None,
                    entry,
                    f"{self.ends.who('destination', entry.key)}: {_message(err)}",
                )
            return
        failed = {}
        for error in response.get("Errors", []):
            failed[error.get("Key", "")] = error
        for full, entry in by_key.items():
            error = failed.get(full)
            if error is None:
                self._record(entry.key, "deleted", "delete", None, entry, "only at the destination")
            else:
                why = f"An error occurred ({error.get('Code', 'Unknown')}): {error.get('Message', '')}"
                self._record(
                    entry.key,
                    "failed",
                    "delete",
                    None,
                    entry,
                    f"{self.ends.who('destination', entry.key)}: {why}",
                )

    def _record(
        self, key: str, action: Any, step: Any, src: Entry | None, dst: Entry | None, reason: str
    ) -> None:
        self.recorder.add(
            SyncRecord(
                key=key,
                action=action,
                step=step,
                source_size=src.size if src is not None else None,
                destination_size=dst.size if dst is not None else None,
                reason=reason,
            )
        )


class _Failed(Exception):
    """A comparison's fetch failed; ``reason`` names the side and the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _message(err: BaseException) -> str:
    """An error as one line: the service's error rather than boto3's wrapper."""
    cause = err.__cause__
    if isinstance(err, Boto3Error) and isinstance(cause, ClientError | BotoCoreError):
        err = cause
    text = str(err)
    if isinstance(err, ClientError) and not text:
        text = error_code(err)
    return " ".join(text.split())


def filter_of(filters: Filters | None, exclude: Iterable[str], include: Iterable[str]) -> KeyFilter:
    if isinstance(exclude, str) or isinstance(include, str):
        raise TypeError("exclude and include take a list of globs, not one string")
    return KeyFilter([*KeyFilter.of(exclude, include).filters, *(filters or ())])


def sync(
    client: RoutingClient,
    source: str,
    destination: str,
    *,
    dry_run: bool = False,
    delete: bool = False,
    checksum: bool = False,
    exclude: Iterable[str] = (),
    include: Iterable[str] = (),
    filters: Filters | None = None,
    transfers: int = 4,
    report: str | os.PathLike[str] | None = None,
    on_record: Callable[[SyncRecord], None] | None = None,
    on_progress: Callable[[SyncProgress], None] | None = None,
) -> SyncReport:
    """Make ``destination`` hold every object of ``source``: copy what is missing or
    differs, and with ``delete`` remove what only the destination has.

    ``source`` and ``destination`` are addresses taken as directories:
    ``s3://bucket/prefix`` in the caller's namespace (routed by ``client``'s rules), or
    ``CLIENT://bucket/prefix`` for a configured backend addressed directly. A second run
    copies only what is still missing or different; a run with nothing to do sends the two
    listings and reads no object.

    ``dry_run`` sends no write (the report says ``missing``, ``differs``, ``extra``);
    ``checksum`` compares content where sizes match and ETags cannot tell; ``exclude`` /
    ``include`` are globs on the key relative to ``source`` (``fnmatch``, case-sensitive;
    the excludes, then the includes, then ``filters`` in order: the last that matches
    decides); ``transfers`` objects are copied at once; ``report`` is a file to write the
    records to (JSON lines). ``on_record`` is called with each record and ``on_progress``
    with a :class:`SyncProgress` after it (from the sync's threads).

    Raises :class:`~botwo.errors.AddressError` (unknown client, overlapping addresses),
    :class:`~botwo.errors.ReadOnlyError` (a read-only destination) before anything is
    sent, and :class:`~botwo.errors.SyncError` when a side cannot be listed (or lists out
    of order). A key that fails is recorded and the others go on: check ``report.ok``.
    """
    if not isinstance(client, RoutingClient):
        raise TypeError(f"sync needs a botwo client (botwo.client(...)), got {type(client).__name__}")
    if not isinstance(transfers, int) or isinstance(transfers, bool) or transfers < 1:
        raise ValueError(f"transfers must be an int >= 1, got {transfers!r}")
    names = Namespaces(client)
    src_url, dst_url = names.parse(source), names.parse(destination)
    names.client_for(src_url)  # views made here, not by the copying threads
    names.for_writes(dst_url)
    src_url, dst_url = src_url.with_key(as_dir(src_url.key)), dst_url.with_key(as_dir(dst_url.key))
    if overlap(src_url, dst_url):
        raise AddressError(
            f"the source {src_url} and the destination {dst_url} overlap: a sync would copy what it writes"
        )
    key_filter = filter_of(filters, exclude, include)
    ends = SyncEnds(names, src_url, dst_url)
    _refuse_readonly(ends)
    return sync_ends(
        ends,
        admits=key_filter.admits,
        dry_run=dry_run,
        delete=delete,
        checksum=checksum,
        transfers=transfers,
        report=report,
        on_record=on_record,
        on_progress=on_progress,
    )


def sync_ends(
    ends: SyncEnds,
    *,
    admits: Callable[[str], bool],
    masks: Sequence[S3Url] = (),
    dry_run: bool = False,
    delete: bool = False,
    checksum: bool = False,
    transfers: int = 4,
    report: str | os.PathLike[str] | None = None,
    on_record: Callable[[SyncRecord], None] | None = None,
    on_progress: Callable[[SyncProgress], None] | None = None,
) -> SyncReport:
    """The sync of two resolved and checked addresses, taken exactly as given (no
    ``as_dir``): what :func:`sync` runs, and each step of a migration.

    ``admits`` decides, on the key relative to the two prefixes, whether it takes part.
    ``masks`` are addresses (on other clients) listed under the same relative names:
    a key that one of them holds is left out of the source, as a read that the first of
    a fallback chain answers never reaches the later ones.
    """
    if report is not None:
        path = os.fspath(report)
        stream = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed below
        store = path
    else:
        handle, store = tempfile.mkstemp(prefix="botwo-sync-", suffix=".jsonl")
        stream = os.fdopen(handle, "w", encoding="utf-8")
    recorder = _Recorder(stream, on_record, on_progress, time.monotonic)
    run = _Run(ends, recorder, dry_run=dry_run, delete=delete, checksum=checksum)
    try:
        _drive(run, admits, transfers, masks)
    except BaseException:
        stream.close()
        if report is None:
            _unlink(store)
        raise
    stream.close()
    result = SyncReport(
        source=str(ends.source),
        destination=str(ends.dest),
        dry_run=dry_run,
        delete=delete,
        counts=dict(recorder.counts),
        bytes_copied=recorder.bytes_copied,
        bytes_to_copy=recorder.bytes_to_copy,
        failures=tuple(recorder.failures),
        elapsed=time.monotonic() - recorder.start,
        report_path=store if report is not None else None,
        store=store,
    )
    if report is None:
        weakref.finalize(result, _unlink, store)
    return result


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _masked(source: Iterator[Entry], masks: Sequence[Iterator[Entry]]) -> Iterator[Entry]:
    """The entries of ``source`` whose key no mask has (sorted streams, merged a key at a
    time: nothing is held whole)."""
    for mask in masks:
        source = (src for _key, src, held in merge(source, mask) if src is not None and held is None)
    return source


def _drive(run: _Run, admits: Callable[[str], bool], transfers: int, masks: Sequence[S3Url] = ()) -> None:
    """Merge the listings and run each key's task, at most ``2 * transfers`` ahead."""
    window = threading.BoundedSemaphore(2 * transfers)
    pool = ThreadPoolExecutor(transfers, thread_name_prefix="botwo-sync")
    futures: set[Future[None]] = set()
    lock = threading.Lock()
    errors: list[BaseException] = []

    def done(future: Future[None]) -> None:
        with lock:
            futures.discard(future)
        window.release()
        if not future.cancelled() and future.exception() is not None:
            errors.append(future.exception())  # type: ignore[arg-type]

    def submit(task: Callable[[], None]) -> None:
        window.acquire()
        if errors:
            window.release()
            raise errors[0]
        future = pool.submit(task)
        with lock:
            futures.add(future)
        future.add_done_callback(done)

    batch: list[Entry] = []
    finished = False
    try:
        source = _masked(
            _listing(run.ends, "source", admits),
            [_listing(run.ends, "source", admits, mask) for mask in masks],
        )
        pairs = merge(source, _listing(run.ends, "destination", admits))
        for key, src, dst in pairs:
            if src is None and dst is not None and run.delete and not run.dry_run:
                batch.append(dst)
                if len(batch) >= MAX_DELETE_KEYS:
                    submit(functools.partial(run.delete_batch, list(batch)))
                    batch.clear()
                continue
            task = run.first_look(key, src, dst)
            if task is not None:
                submit(task)
        if batch:
            submit(functools.partial(run.delete_batch, list(batch)))
        run.recorder.listed = True
        finished = True
    finally:
        pool.shutdown(wait=True, cancel_futures=not finished)
    if errors:
        raise errors[0]
