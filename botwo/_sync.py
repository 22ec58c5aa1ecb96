"""Planning a sync: from two sorted listings, what to copy, delete or leave, key by key.

Pure: plain values in, plain values out; no client, socket, file or clock. The shell
(:mod:`botwo._syncer`) lists, fetches what a comparison asks for, copies and deletes.

Theory of operation
-------------------
A sync of ``SRC`` to ``DST`` looks at keys *relative* to each prefix (``raw/a.csv`` under
``s3://data/raw/`` is ``a.csv``). S3 lists a prefix in the UTF-8 byte order of its keys,
which for valid strings is Python's code-point order, and every key of a listing shares
its prefix, so the relative keys of each listing come in the same order. :func:`merge`
walks the two listings side by side as sorted streams, one entry of each at a time,
yielding ``(key, source entry, destination entry)`` for every key either side has: the
listings are never held whole. A listing out of order would make the merge miss keys, so
:func:`out_of_order` finds the first entry of a page that does not sort after the one
before it and the shell stops, naming the backend (:class:`~botwo.errors.ListingOrderError`).

Each pair is then decided:

* only at the source: ``missing`` (it is copied);
* only at the destination: ``extra`` (deleted with ``--delete``, else left alone);
* on both: :func:`compare`, which says ``same``, ``differs`` or what it ``needs`` to know
  before it can say (a part layout, the stored checksums, the content hashes); the shell
  fetches that and asks again.

:func:`compare` goes from the cheapest evidence to the dearest. Sizes that differ
differ. ETags are compared only where they mean the same thing on both sides: two plain
MD5s, or two multipart ETags (``md5-of-part-md5s-N``) of the same part layout (equal
multipart ETags are the same parts, hence the same bytes; unequal ones mean different
content only when both sides were cut into the same parts, which a HEAD of part 1 tells).
Otherwise the ETags say nothing about content and, without ``--checksum``, the same size
is taken as the same object. With ``--checksum``: a stored checksum of one algorithm
that both sides hold for the whole object (``ChecksumType`` ``FULL_OBJECT``, or a value
without the ``-N`` of a composite), else a SHA-256 of both contents.

:class:`KeyFilter` is ``--exclude`` / ``--include`` as the AWS CLI applies them: every
key is in unless a filter matches it, and the last filter that matches decides. Globs
are :func:`fnmatch.translate`'s (``*`` crosses ``/``), on the relative key,
case-sensitive. A filter applies to both sides: an excluded key is neither copied nor
deleted.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal, get_args

import attrs

from ._awsfmt import S3Url, human_size
from ._names import resolve_dot_segments

__all__ = [
    "ACTIONS",
    "Action",
    "Checksums",
    "Entry",
    "FilterItem",
    "KeyFilter",
    "Known",
    "Layout",
    "Step",
    "SyncRecord",
    "Verdict",
    "as_dir",
    "compare",
    "dot_segments",
    "entry_of",
    "merge",
    "out_of_order",
    "overlap",
    "progress_text",
    "summary_text",
]

#: What happened to a key (one :class:`SyncRecord` each): ``copied`` and ``deleted`` were
#: done; ``same`` needed nothing; ``missing`` and ``differs`` are what a dry run would copy;
#: ``extra`` is only at the destination and was left (no ``--delete``, or a dry run);
#: ``failed`` was tried and failed.
Action = Literal["copied", "deleted", "same", "missing", "differs", "extra", "failed"]
ACTIONS: tuple[Action, ...] = get_args(Action)
#: The step a record is the outcome of.
Step = Literal["compare", "copy", "delete"]
_STEPS: tuple[Step, ...] = get_args(Step)

_MD5 = re.compile(r"[0-9a-f]{32}")
_MULTIPART = re.compile(r"[0-9a-f]{32}-([1-9][0-9]*)")
_COMPOSITE = re.compile(r".*-[0-9]+")
#: Stored checksum algorithms, strongest first: the one both sides have is compared.
CHECKSUM_ALGORITHMS = ("SHA256", "SHA1", "CRC64NVME", "CRC32C", "CRC32")


def _check_type(kind: type | tuple[type, ...], name: str) -> Any:
    def check(_inst: Any, _attr: Any, value: Any) -> None:
        if not isinstance(value, kind):
            raise TypeError(f"{name}: expected {kind}, got {type(value).__name__} {value!r}")

    return check


@attrs.frozen(kw_only=True)
class Entry:
    """One object of a listing: its key relative to the listed prefix, size and ETag
    (without quotes, lower case; ``""`` when the server gave none)."""

    key: str = attrs.field(validator=_check_type(str, "Entry.key"))
    size: int = attrs.field(validator=_check_type(int, "Entry.size"))
    etag: str = ""


def entry_of(listed: Mapping[str, Any], prefix: str) -> Entry:
    """The :class:`Entry` of a ``list_objects_v2`` ``Contents`` item under ``prefix``.

    Raises ``ValueError`` for a key that does not start with ``prefix``.
    """
    key = listed["Key"]
    if not key.startswith(prefix):
        raise ValueError(f"key {key!r} is not under the listed prefix {prefix!r}")
    etag = str(listed.get("ETag") or "").strip('"').lower()
    return Entry(key=key[len(prefix) :], size=int(listed.get("Size", 0)), etag=etag)


def as_dir(key: str) -> str:
    """A sync's prefix taken as a directory: ``raw`` is ``raw/`` (never ``raw2/``)."""
    return key if not key or key.endswith("/") else key + "/"


def overlap(source: S3Url, dest: S3Url) -> bool:
    """Whether two addresses of one namespace and bucket contain one another: a sync
    between them would copy what it is writing."""
    if source.client != dest.client or source.bucket != dest.bucket:
        return False
    a, b = as_dir(source.key), as_dir(dest.key)
    return a.startswith(b) or b.startswith(a)


def dot_segments(key: str) -> bool:
    """Whether ``key`` has ``.``/``..`` segments that a server or HTTP client normalizing
    URL paths would resolve to another key: such a key is neither read nor written."""
    return (key[:1] == "." or "/." in key) and resolve_dot_segments(key) != key


# -- order and merge ----------------------------------------------------------------------


def out_of_order(previous: str | None, keys: Sequence[str]) -> int | None:
    """The index of the first of ``keys`` that does not sort strictly after the key before
    it (``previous`` before the first), or ``None`` when they are all in order.

    Python compares strings by code point, which for valid strings is the UTF-8 byte
    order that S3 lists in.
    """
    last = previous
    for i, key in enumerate(keys):
        if last is not None and key <= last:
            return i
        last = key
    return None


def merge(source: Iterable[Entry], dest: Iterable[Entry]) -> Iterator[tuple[str, Entry | None, Entry | None]]:
    """``(key, source entry, destination entry)`` for each key of either sorted stream, in
    order; one entry of each stream is held at a time.

    Raises ``ValueError`` if a stream is not strictly increasing (the shell checks each
    page first, so that its error can name the backend; this keeps the merge honest).
    """
    src_it, dst_it = iter(source), iter(dest)
    src = next(src_it, None)
    dst = next(dst_it, None)
    while src is not None or dst is not None:
        if dst is None or (src is not None and src.key < dst.key):
            assert src is not None
            yield src.key, src, None
            src = _next_after(src_it, src.key, "source")
        elif src is None or dst.key < src.key:
            yield dst.key, None, dst
            dst = _next_after(dst_it, dst.key, "destination")
        else:
            yield src.key, src, dst
            src = _next_after(src_it, src.key, "source")
            dst = _next_after(dst_it, dst.key, "destination")


def _next_after(stream: Iterator[Entry], key: str, side: str) -> Entry | None:
    entry = next(stream, None)
    if entry is not None and entry.key <= key:
        raise ValueError(f"the {side} listing is out of order: {entry.key!r} after {key!r}")
    return entry


# -- filters ------------------------------------------------------------------------------


#: One ``--include GLOB`` or ``--exclude GLOB``.
FilterItem = tuple[Literal["include", "exclude"], str]


def _as_tuple(items: Iterable[FilterItem]) -> tuple[FilterItem, ...]:
    return tuple(items)


@attrs.frozen
class KeyFilter:
    """``--exclude`` / ``--include``, in the order given: every key is in unless a filter
    matches it, and the last one that matches decides (as the AWS CLI's ``s3`` commands)."""

    filters: tuple[FilterItem, ...] = attrs.field(default=(), converter=_as_tuple)
    _compiled: tuple[tuple[bool, re.Pattern[str]], ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        compiled = []
        for i, item in enumerate(self.filters):
            if not (isinstance(item, tuple) and len(item) == 2):
                raise ValueError(f"filters[{i}]: expected ('include' or 'exclude', glob), got {item!r}")
            kind, glob = item
            if kind not in ("include", "exclude"):
                raise ValueError(f"filters[{i}]: expected 'include' or 'exclude', got {kind!r}")
            if not isinstance(glob, str):
                raise ValueError(f"filters[{i}]: the glob must be a string, got {glob!r}")
            compiled.append((kind == "include", re.compile(fnmatch.translate(glob))))
        object.__setattr__(self, "_compiled", tuple(compiled))

    @classmethod
    def of(cls, exclude: Iterable[str] = (), include: Iterable[str] = ()) -> KeyFilter:
        """The excludes, then the includes (an include wins over an exclude it overlaps:
        ``exclude=["*"], include=["*.csv"]`` keeps only CSVs)."""
        excludes: list[FilterItem] = [("exclude", glob) for glob in exclude]
        includes: list[FilterItem] = [("include", glob) for glob in include]
        return cls(excludes + includes)

    def admits(self, key: str) -> bool:
        """Whether the relative ``key`` takes part in the sync."""
        admitted = True
        for include, pattern in self._compiled:
            if pattern.match(key):
                admitted = include
        return admitted


# -- compare ------------------------------------------------------------------------------


@attrs.frozen
class Layout:
    """How a multipart object was cut: its part count and the size of its first part
    (every part but the last has the first one's size, as every S3 uploader cuts them)."""

    parts: int
    first_part: int


@attrs.frozen
class Checksums:
    """The checksums a HEAD with ``ChecksumMode=ENABLED`` reported: algorithm -> value,
    and the ``ChecksumType`` (``FULL_OBJECT``, ``COMPOSITE`` or ``None`` when not said)."""

    values: tuple[tuple[str, str], ...] = ()
    type: str | None = None

    @classmethod
    def of_head(cls, head: Mapping[str, Any]) -> Checksums:
        found = tuple(
            (alg, str(head[f"Checksum{alg}"])) for alg in CHECKSUM_ALGORITHMS if head.get(f"Checksum{alg}")
        )
        kind = head.get("ChecksumType")
        return cls(found, kind if isinstance(kind, str) else None)

    def full_object(self) -> dict[str, str]:
        """The values that are checksums of the whole object (not composites of parts)."""
        if self.type is not None and self.type != "FULL_OBJECT":
            return {}
        return {alg: value for alg, value in self.values if not _COMPOSITE.fullmatch(value)}


@attrs.frozen(kw_only=True)
class Known:
    """What the shell has fetched so far for a comparison (``None``: not fetched)."""

    source_layout: Layout | None = None
    dest_layout: Layout | None = None
    layouts_fetched: bool = False
    source_checksums: Checksums | None = None
    dest_checksums: Checksums | None = None
    source_hash: str | None = None
    dest_hash: str | None = None


@attrs.frozen
class Verdict:
    """What :func:`compare` says: ``same`` or ``differs`` (with why), or what it
    ``needs`` fetched first: ``layout`` (a HEAD of part 1 on each side), ``checksums``
    (a HEAD with ``ChecksumMode=ENABLED`` on each side) or ``content`` (both hashed)."""

    outcome: Literal["same", "differs", "needs"]
    reason: str
    needs: Literal["layout", "checksums", "content"] | None = None


def _etag_kind(etag: str) -> tuple[str, int] | None:
    if _MD5.fullmatch(etag):
        return ("md5", 1)
    found = _MULTIPART.fullmatch(etag)
    if found:
        return ("multipart", int(found.group(1)))
    return None


def compare(src: Entry, dst: Entry, *, checksum: bool, known: Known | None = None) -> Verdict:
    """Whether the source and destination objects of one key are the same (see the
    module's theory of operation). Never fetches anything: a ``needs`` verdict says what
    to fetch, and the shell asks again with it in ``known``."""
    known = known or Known()
    if src.size != dst.size:
        return Verdict(
            "differs", f"size differs: {src.size} bytes at the source, {dst.size} at the destination"
        )
    a, b = _etag_kind(src.etag), _etag_kind(dst.etag)
    why: str
    if a is not None and b is not None and a[0] == b[0] == "md5":
        if src.etag == dst.etag:
            return Verdict("same", "same size and ETag (MD5)")
        return Verdict(
            "differs", f"ETag (MD5) differs: {src.etag} at the source, {dst.etag} at the destination"
        )
    if a is not None and b is not None and a[0] == b[0] == "multipart":
        if src.etag == dst.etag:
            return Verdict("same", f"same size and multipart ETag ({a[1]} parts)")
        if a[1] != b[1]:
            why = f"multipart ETags of {a[1]} and {b[1]} parts are not comparable"
        elif not known.layouts_fetched:
            return Verdict("needs", "multipart ETags differ: the part layouts decide", "layout")
        elif known.source_layout is not None and known.source_layout == known.dest_layout:
            layout = known.source_layout
            return Verdict(
                "differs",
                f"multipart ETag differs with the same part layout ({layout.parts} parts of "
                f"{layout.first_part} bytes)",
            )
        else:
            why = "multipart ETags of different part layouts are not comparable"
    elif a is None or b is None:
        why = "an ETag that is not an MD5 is not comparable"
    else:
        why = "a multipart ETag is not comparable with a single-part one"
    if not checksum:
        return Verdict("same", f"same size ({why}; --checksum compares the content)")
    if known.source_checksums is None or known.dest_checksums is None:
        return Verdict("needs", why, "checksums")
    ours, theirs = known.source_checksums.full_object(), known.dest_checksums.full_object()
    for alg in CHECKSUM_ALGORITHMS:
        if alg in ours and alg in theirs:
            if ours[alg] == theirs[alg]:
                return Verdict("same", f"same size and {alg} checksum")
            return Verdict(
                "differs",
                f"{alg} checksum differs: {ours[alg]} at the source, {theirs[alg]} at the destination",
            )
    if known.source_hash is None or known.dest_hash is None:
        return Verdict("needs", f"{why}, and no stored checksum both sides have", "content")
    if known.source_hash == known.dest_hash:
        return Verdict("same", "same content (SHA-256 of both)")
    return Verdict("differs", "content differs (SHA-256 of both)")


# -- records ------------------------------------------------------------------------------


def _check_action(_inst: Any, _attr: Any, value: Any) -> None:
    if value not in ACTIONS:
        raise ValueError(f"SyncRecord.action: expected one of {', '.join(ACTIONS)}, got {value!r}")


def _check_step(_inst: Any, _attr: Any, value: Any) -> None:
    if value not in _STEPS:
        raise ValueError(f"SyncRecord.step: expected one of {', '.join(_STEPS)}, got {value!r}")


def _check_size(_inst: Any, attr: Any, value: Any) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise ValueError(f"SyncRecord.{attr.name}: expected a size in bytes or None, got {value!r}")


@attrs.frozen(kw_only=True)
class SyncRecord:
    """What a sync did with one key (relative to the source and destination prefixes).

    ``source_size`` / ``destination_size`` are the sizes listed (``None`` where the key
    is absent); ``reason`` says why, and for a failure which side and client failed.
    """

    key: str = attrs.field(validator=_check_type(str, "SyncRecord.key"))
    action: Action = attrs.field(validator=_check_action)
    step: Step = attrs.field(validator=_check_step)
    source_size: int | None = attrs.field(default=None, validator=_check_size)
    destination_size: int | None = attrs.field(default=None, validator=_check_size)
    reason: str = ""

    def to_json(self) -> str:
        """One line of a report file (JSON lines)."""
        return json.dumps(
            {
                "key": self.key,
                "action": self.action,
                "step": self.step,
                "source_size": self.source_size,
                "destination_size": self.destination_size,
                "reason": self.reason,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, line: str) -> SyncRecord:
        data = json.loads(line)
        if not isinstance(data, dict):
            raise ValueError(f"a sync record is a JSON object, got {line!r}")
        return cls(**data)


# -- text ---------------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress_text(
    *,
    objects_done: int,
    objects_total: int,
    bytes_done: int,
    bytes_total: int,
    compared: int,
    elapsed: float,
    listed: bool,
) -> str:
    """The progress line: ``Synced 3/10 objects, 5.0 MiB/20.0 MiB (2.0 MiB/s), ETA 0:07;
    1,200 keys compared``. Totals known only in part (the listings are still being read)
    end in ``+``, and the ETA waits for them."""
    more = "" if listed else "+"
    rate = bytes_done / elapsed if elapsed > 0 else 0.0
    if not listed:
        eta = "listing"
    elif bytes_done >= bytes_total:
        eta = "ETA 0:00"
    elif rate > 0:
        eta = f"ETA {_duration((bytes_total - bytes_done) / rate)}"
    else:
        eta = "ETA --:--"
    return (
        f"Synced {objects_done:,}/{objects_total:,}{more} objects, {human_size(bytes_done)}/"
        f"{human_size(bytes_total)}{more} ({human_size(rate)}/s), {eta}; {compared:,} keys compared"
    )


def summary_text(
    counts: Mapping[str, int], *, bytes_copied: int, bytes_to_copy: int, elapsed: float, dry_run: bool
) -> str:
    """The line printed when a sync ends."""
    if dry_run:
        to_copy = counts.get("missing", 0) + counts.get("differs", 0)
        parts = [
            f"{to_copy:,} to copy ({human_size(bytes_to_copy)}: {counts.get('missing', 0):,} missing, "
            f"{counts.get('differs', 0):,} different)",
            f"{counts.get('extra', 0):,} only at the destination",
            f"{counts.get('same', 0):,} same",
        ]
        head = "sync (dry run)"
    else:
        parts = [
            f"{counts.get('copied', 0):,} copied ({human_size(bytes_copied)})",
            f"{counts.get('deleted', 0):,} deleted",
            f"{counts.get('same', 0):,} same",
        ]
        if counts.get("extra", 0):
            parts.append(f"{counts['extra']:,} only at the destination (kept)")
        head = "sync"
    parts.append(f"{counts.get('failed', 0):,} failed")
    return f"{head}: {', '.join(parts)} in {_duration(elapsed)}"
