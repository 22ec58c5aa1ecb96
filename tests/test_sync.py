"""Sync: the pure planning (:mod:`botwo._sync`) and ``botwo.sync`` / ``botwo sync`` over real servers.

The planning is tested as pure functions, with hypothesis: the merge of two sorted
listings against a set model, the filters against the AWS CLI's rule, the comparison's
laws, the records' JSON. The sync itself runs over the ``s3`` and ``lake`` fixture servers
(one moto process each), in this process with the requests the backends send recorded
(:class:`tests.recorder.Sent`), and as the ``botwo sync`` command in a subprocess, which
one test kills in the middle of a run.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import botwo
from botwo import _sync
from botwo._awsfmt import S3Url
from botwo._sync import (
    ACTIONS,
    Checksums,
    Entry,
    KeyFilter,
    Known,
    Layout,
    SyncRecord,
    compare,
    merge,
    out_of_order,
)
from botwo.testing import LocalS3Server

from .recorder import Sent
from .test_cli import Cli, toml_document

ROOT = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024

# Awkward key characters: percent, plus, query, brackets, space, unicode, backslash, slash.
AWKWARD = "ab/%+?[ \\~é€\U0001f600"
keys = st.text(AWKWARD, min_size=1, max_size=6)
md5s = st.binary(max_size=8).map(lambda b: hashlib.md5(b).hexdigest())


def entries(names: Iterator[str] | list[str], size: int = 1) -> list[Entry]:
    return [Entry(key=k, size=size, etag="") for k in names]


# -- the merge ----------------------------------------------------------------------------


@given(st.sets(keys), st.sets(keys))
def test_merge_is_the_sorted_union_with_each_side(source: set[str], dest: set[str]) -> None:
    merged = list(merge(entries(sorted(source)), entries(sorted(dest))))
    assert [k for k, _, _ in merged] == sorted(source | dest)
    for key, src, dst in merged:
        assert (src is not None) == (key in source) and (dst is not None) == (key in dest)
        assert src is None or src.key == key
        assert dst is None or dst.key == key


def test_merge_sorts_by_utf8_bytes() -> None:
    # S3 lists in UTF-8 byte order: "\uffff" (EF BF BF) before "\U0001f600" (F0 9F 98 80),
    # and Python's code-point order agrees for valid strings.
    names = sorted(["a", "\uffff", "\U0001f600", "é", "z"])
    assert names == sorted(names, key=lambda k: k.encode("utf-8"))
    assert [k for k, _, _ in merge(entries(names), [])] == names


@given(st.lists(keys, min_size=2, unique=True))
def test_a_stream_out_of_order_is_refused(names: list[str]) -> None:
    assume(names != sorted(names))
    with pytest.raises(ValueError, match="out of order"):
        list(merge(entries(names), []))
    with pytest.raises(ValueError, match="destination listing is out of order"):
        list(merge([], entries(names)))


def test_the_merge_holds_one_entry_of_each_stream() -> None:
    pulled = {"source": 0, "destination": 0}

    def endless(side: str, step: int) -> Iterator[Entry]:
        i = 0
        while True:
            pulled[side] += 1
            yield Entry(key=f"{i:09d}", size=1)
            i += step

    merged = merge(endless("source", 1), endless("destination", 2))
    for _ in range(1000):
        next(merged)
    # 1,000 pairs out: never more than one entry read ahead on either side.
    assert pulled["source"] <= 1001 and pulled["destination"] <= 501


@given(st.one_of(st.none(), keys), st.lists(keys, max_size=6))
def test_out_of_order_finds_the_first_key_not_after_the_one_before(
    previous: str | None, names: list[str]
) -> None:
    found = out_of_order(previous, names)
    chain = ([previous] if previous is not None else []) + names
    offset = 1 if previous is not None else 0
    firsts = [i - offset for i in range(1, len(chain)) if chain[i] <= chain[i - 1]]
    assert found == (firsts[0] if firsts else None)


# -- filters ------------------------------------------------------------------------------

globs = st.text("ab*?/.[]!", min_size=1, max_size=4)


@given(st.lists(st.tuples(st.sampled_from(["include", "exclude"]), globs), max_size=4), keys)
def test_filters_last_match_decides(filters: list[tuple[Any, str]], key: str) -> None:
    expected = True
    for kind, glob in filters:
        if fnmatch.fnmatchcase(key, glob):
            expected = kind == "include"
    assert KeyFilter(filters).admits(key) is expected


def test_filters_are_fnmatch_on_the_relative_key_case_sensitive() -> None:
    only_csv = KeyFilter.of(exclude=["*"], include=["*.csv"])
    assert only_csv.admits("a/b/c.csv")  # * crosses "/", as fnmatch.translate's does
    assert not only_csv.admits("a/b/c.CSV")
    assert not only_csv.admits("c.json")
    no_tmp = KeyFilter([("exclude", "tmp/*"), ("include", "tmp/keep*")])
    assert no_tmp.admits("x/tmp/y") and not no_tmp.admits("tmp/y") and no_tmp.admits("tmp/keep.txt")
    assert KeyFilter().admits("anything")
    for bad in ([("maybe", "*")], [("include",)], [("include", 3)]):
        with pytest.raises(ValueError, match=r"filters\[0\]"):
            KeyFilter(bad)  # type: ignore[arg-type]


# -- compare ------------------------------------------------------------------------------


@st.composite
def objects(draw: st.DrawFn) -> Entry:
    kind = draw(st.sampled_from(["md5", "multipart", "other", "none"]))
    etag = {
        "md5": draw(md5s),
        "multipart": f"{draw(md5s)}-{draw(st.integers(1, 4))}",
        "other": "not-an-md5",
        "none": "",
    }[kind]
    return Entry(key="k", size=draw(st.integers(0, 3)), etag=etag)


checksums = st.builds(
    Checksums,
    st.lists(
        st.tuples(st.sampled_from(["SHA256", "CRC32"]), st.sampled_from(["x", "y", "x-2"])), max_size=2
    ).map(lambda pairs: tuple(dict(pairs).items())),
    st.sampled_from([None, "FULL_OBJECT", "COMPOSITE"]),
)
everything_known = st.builds(
    Known,
    source_layout=st.one_of(st.none(), st.builds(Layout, st.integers(1, 4), st.integers(1, 3))),
    dest_layout=st.one_of(st.none(), st.builds(Layout, st.integers(1, 4), st.integers(1, 3))),
    layouts_fetched=st.just(True),
    source_checksums=checksums,
    dest_checksums=checksums,
    source_hash=st.sampled_from(["h1", "h2"]),
    dest_hash=st.sampled_from(["h1", "h2"]),
)


@given(objects(), st.booleans())
def test_an_object_is_the_same_as_itself(entry: Entry, checksum: bool) -> None:
    known = Known(
        layouts_fetched=True,
        source_checksums=Checksums((("SHA256", "x"),)),
        dest_checksums=Checksums((("SHA256", "x"),)),
        source_hash="h",
        dest_hash="h",
    )
    assert compare(entry, entry, checksum=checksum, known=known).outcome == "same"


@given(objects(), objects(), st.booleans(), everything_known)
def test_compare_decides_once_everything_is_known(
    src: Entry, dst: Entry, checksum: bool, known: Known
) -> None:
    verdict = compare(src, dst, checksum=checksum, known=known)
    assert verdict.outcome in ("same", "differs") and verdict.reason
    if src.size != dst.size:
        assert verdict.outcome == "differs"


@given(objects(), objects(), st.booleans())
def test_sizes_and_comparable_etags_decide_without_fetching(src: Entry, dst: Entry, checksum: bool) -> None:
    verdict = compare(src, dst, checksum=checksum)
    plain = _sync._MD5.fullmatch(src.etag) and _sync._MD5.fullmatch(dst.etag)
    same_parts = src.etag == dst.etag and _sync._MULTIPART.fullmatch(src.etag)
    if src.size != dst.size or plain or same_parts:
        assert verdict.outcome != "needs"
    if src.size == dst.size and plain:
        assert verdict.outcome == ("same" if src.etag == dst.etag else "differs")
    if not checksum:
        assert verdict.needs in (None, "layout")


@given(md5s, md5s, st.integers(2, 4))
def test_multipart_etags_are_compared_only_on_the_same_layout(a: str, b: str, parts: int) -> None:
    assume(a != b)
    src, dst = Entry(key="k", size=10, etag=f"{a}-{parts}"), Entry(key="k", size=10, etag=f"{b}-{parts}")
    assert compare(src, dst, checksum=False).needs == "layout"
    same_layout = Known(source_layout=Layout(parts, 5), dest_layout=Layout(parts, 5), layouts_fetched=True)
    assert compare(src, dst, checksum=False, known=same_layout).outcome == "differs"
    other = Known(source_layout=Layout(parts, 5), dest_layout=Layout(parts, 6), layouts_fetched=True)
    assert compare(src, dst, checksum=False, known=other).outcome == "same"  # size alone
    assert compare(src, dst, checksum=True, known=other).needs == "checksums"
    fewer = Entry(key="k", size=10, etag=f"{b}-{parts - 1}")
    assert compare(src, fewer, checksum=False).outcome == "same"  # part counts differ: no HEAD


def test_checksum_mode_prefers_stored_full_object_checksums_then_hashes() -> None:
    src = Entry(key="k", size=5, etag=hashlib.md5(b"hello").hexdigest())
    dst = Entry(key="k", size=5, etag="e5d22609754880c35281160b70825bba-1")
    assert compare(src, dst, checksum=False).outcome == "same"
    assert compare(src, dst, checksum=True).needs == "checksums"
    crc = Checksums((("CRC32", "NhCmhg=="),))
    assert (
        compare(src, dst, checksum=True, known=Known(source_checksums=crc, dest_checksums=crc)).outcome
        == "same"
    )
    other = Checksums((("CRC32", "AAAAAA=="),), "FULL_OBJECT")
    verdict = compare(src, dst, checksum=True, known=Known(source_checksums=crc, dest_checksums=other))
    assert verdict.outcome == "differs" and "CRC32" in verdict.reason
    composite = Checksums((("CRC32", "NhCmhg==-1"),))
    hashes = Known(source_checksums=crc, dest_checksums=composite)
    assert compare(src, dst, checksum=True, known=hashes).needs == "content"
    typed = Known(source_checksums=crc, dest_checksums=Checksums((("CRC32", "NhCmhg=="),), "COMPOSITE"))
    assert compare(src, dst, checksum=True, known=typed).needs == "content"
    done = attrs.evolve(hashes, source_hash="a", dest_hash="b")
    assert compare(src, dst, checksum=True, known=done).outcome == "differs"


def test_checksums_of_a_head() -> None:
    head = {"ChecksumCRC32": "a", "ChecksumSHA256": "b-3", "ChecksumType": "FULL_OBJECT", "ETag": "x"}
    found = Checksums.of_head(head)
    assert found.values == (("SHA256", "b-3"), ("CRC32", "a"))
    assert found.full_object() == {"CRC32": "a"}
    assert Checksums.of_head({}).full_object() == {}


# -- records and text ---------------------------------------------------------------------


@given(
    st.builds(
        SyncRecord,
        key=keys,
        action=st.sampled_from(ACTIONS),
        step=st.sampled_from(["compare", "copy", "delete"]),
        source_size=st.one_of(st.none(), st.integers(0, 2**40)),
        destination_size=st.one_of(st.none(), st.integers(0, 2**40)),
        reason=st.text(max_size=10),
    )
)
def test_records_round_trip_through_json_lines(record: SyncRecord) -> None:
    line = record.to_json()
    assert "\n" not in line
    assert SyncRecord.from_json(line) == record
    assert set(json.loads(line)) == {"key", "action", "step", "source_size", "destination_size", "reason"}


def test_records_are_validated_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"SyncRecord\.action"):
        SyncRecord(key="k", action="moved", step="copy")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"SyncRecord\.source_size"):
        SyncRecord(key="k", action="copied", step="copy", source_size=-1)
    with pytest.raises(TypeError, match=r"Entry\.size"):
        Entry(key="k", size="3")  # type: ignore[arg-type]


def test_progress_and_summary_text() -> None:
    listing = _sync.progress_text(
        objects_done=3,
        objects_total=10,
        bytes_done=2 * MiB,
        bytes_total=8 * MiB,
        compared=1200,
        elapsed=1.0,
        listed=False,
    )
    assert listing == "Synced 3/10+ objects, 2.0 MiB/8.0 MiB+ (2.0 MiB/s), listing; 1,200 keys compared"
    done = _sync.progress_text(
        objects_done=3,
        objects_total=10,
        bytes_done=2 * MiB,
        bytes_total=8 * MiB,
        compared=1200,
        elapsed=1.0,
        listed=True,
    )
    assert done.endswith("(2.0 MiB/s), ETA 0:03; 1,200 keys compared")
    counts = dict.fromkeys(ACTIONS, 0) | {"copied": 2, "same": 5, "failed": 1}
    assert _sync.summary_text(counts, bytes_copied=2048, bytes_to_copy=2048, elapsed=61, dry_run=False) == (
        "sync: 2 copied (2.0 KiB), 0 deleted, 5 same, 1 failed in 1:01"
    )
    dry = dict.fromkeys(ACTIONS, 0) | {"missing": 2, "differs": 1, "extra": 4}
    assert _sync.summary_text(dry, bytes_copied=0, bytes_to_copy=3, elapsed=0, dry_run=True) == (
        "sync (dry run): 3 to copy (3 Bytes: 2 missing, 1 different), 4 only at the destination, 0 same, "
        "0 failed in 0:00"
    )


def test_prefixes_are_directories_and_overlaps_are_found() -> None:
    assert _sync.as_dir("raw") == "raw/" and _sync.as_dir("") == "" and _sync.as_dir("a/") == "a/"
    assert _sync.overlap(S3Url("b", "raw"), S3Url("b", "raw/sub"))
    assert _sync.overlap(S3Url("b", ""), S3Url("b", "x/"))
    assert not _sync.overlap(S3Url("b", "raw"), S3Url("b", "raw2"))
    assert not _sync.overlap(S3Url("b", "raw"), S3Url("b", "raw", "lake"))
    assert _sync.dot_segments("a/../b") and _sync.dot_segments("./a")
    assert not _sync.dot_segments("a.b/c..d") and not _sync.dot_segments("a/.hidden")


# -- over real servers ----------------------------------------------------------------------

MAPPING: list[dict[str, Any]] = [
    {
        "bucket_name": "data",
        "prefix": "raw/",
        "client": "lake",
        "mapped_bucket_name": "data-lake",
        "key_prefix": "main/",
        "strip_prefix": True,
    },
    {"bucket_name": "data", "prefix": "frozen/", "client": "s3", "readonly": True},
    {"bucket_name": "*", "client": "s3"},
]
#: Awkward keys, as a caller wrote them under s3://old/exports/.
KEYS = [
    "a.csv",
    "b c.txt",
    "d+e=f.json",
    "pct%20.bin",
    "é/ü.txt",
    "deep/er/x.parquet",
    "z\U0001f600",
    "q?x[1]",
]


def _body(key: str) -> bytes:
    return f"content of {key}".encode()


def _get(client: Any, bucket: str, key: str) -> bytes:
    data: bytes = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    return data


def _keys(client: Any, bucket: str, prefix: str = "") -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def _multipart(client: Any, bucket: str, key: str, parts: list[bytes]) -> None:
    upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    done = []
    for number, body in enumerate(parts, 1):
        etag = client.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=body)[
            "ETag"
        ]
        done.append({"PartNumber": number, "ETag": etag})
    client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": done})


def _object_requests(sent: Sent) -> list[tuple[str, str, str]]:
    """Every request that is not a listing."""
    return [r for r in sent.requests if not (r[1] == "GET" and "list-type=2" in r[2])]


@pytest.fixture
def world(backends: dict[str, Any]) -> Iterator[tuple[Any, Sent, dict[str, Any]]]:
    """A botwo client over the s3 and lake servers, the requests they send, and the backends."""
    backends["s3"].create_bucket(Bucket="old")
    backends["s3"].create_bucket(Bucket="data")
    backends["lake"].create_bucket(Bucket="data-lake")
    for key in KEYS:
        backends["s3"].put_object(Bucket="old", Key=f"exports/{key}", Body=_body(key))
    used = {"s3": backends["s3"], "lake": backends["lake"]}
    client = botwo.client(used, MAPPING)
    yield client, Sent(used), backends


def test_a_sync_across_backends_then_a_run_with_nothing_to_do(
    world: tuple[Any, Sent, dict[str, Any]],
) -> None:
    client, sent, backends = world
    report = botwo.sync(client, "s3://old/exports", "s3://data/raw/")
    assert report.ok and report.copied == len(KEYS) and report.failed == 0, report
    assert report.bytes_copied == sum(len(_body(k)) for k in KEYS)
    assert sorted(_keys(backends["lake"], "data-lake")) == sorted(f"main/{k}" for k in KEYS)
    for key in KEYS:
        assert _get(backends["lake"], "data-lake", f"main/{key}") == _body(key)
    assert {r.action for r in report.records()} == {"copied"}
    # Streamed between the two servers: read from s3, written to lake.
    assert {c for c, m, _ in sent.requests if m == "PUT"} == {"lake"}
    sent.clear()
    again = botwo.sync(client, "s3://old/exports/", "s3://data/raw")
    assert again.ok and again.copied == 0 and again.same == len(KEYS), again
    assert len(sent.requests) == 2 and _object_requests(sent) == []  # two listings, nothing else


def test_a_sync_within_one_backend_is_server_side(world: tuple[Any, Sent, dict[str, Any]]) -> None:
    client, sent, backends = world
    report = botwo.sync(client, "s3://old/exports", "s3://data/copy")
    assert report.ok and report.copied == len(KEYS), report
    # One CopyObject (a PUT) per key; no object is read through this process.
    assert [m for _, m, _ in _object_requests(sent)] == ["PUT"] * len(KEYS)
    assert _get(backends["s3"], "data", "copy/deep/er/x.parquet") == _body("deep/er/x.parquet")
    sent.clear()
    # A backend addressed directly is the same backend: server-side too.
    direct = botwo.sync(client, "client:s3://old/exports", "s3://data/copy2/")
    assert direct.ok and direct.copied == len(KEYS)
    assert [m for _, m, _ in _object_requests(sent)] == ["PUT"] * len(KEYS)


def test_checksum_finds_a_change_of_the_same_size(world: tuple[Any, Sent, dict[str, Any]]) -> None:
    client, sent, backends = world
    assert botwo.sync(client, "s3://old/exports", "lake://data-lake/copy").ok
    # Overwritten with other bytes of the same length, as a one-part multipart upload:
    # its ETag ("md5-1") says nothing about the content.
    changed = _body("a.csv").upper()
    _multipart(backends["lake"], "data-lake", "copy/a.csv", [changed])
    sent.clear()
    blind = botwo.sync(client, "s3://old/exports", "lake://data-lake/copy")
    assert blind.ok and blind.copied == 0 and _object_requests(sent) == []
    (record,) = [r for r in blind.records() if r.key == "a.csv"]
    assert record.action == "same" and "--checksum" in record.reason
    found = botwo.sync(client, "s3://old/exports", "lake://data-lake/copy", checksum=True)
    assert found.ok and found.copied == 1, found
    (record,) = [r for r in found.records() if r.action == "copied"]
    assert record.key == "a.csv" and "content differs" in record.reason
    assert _get(backends["lake"], "data-lake", "copy/a.csv") == _body("a.csv")
    sent.clear()
    settled = botwo.sync(client, "s3://old/exports", "lake://data-lake/copy", checksum=True)
    assert settled.ok and settled.copied == 0 and _object_requests(sent) == []  # ETags are MD5s again


def test_multipart_etags_are_compared_when_the_part_layouts_match(
    world: tuple[Any, Sent, dict[str, Any]],
) -> None:
    client, sent, backends = world
    s3, lake = backends["s3"], backends["lake"]
    first, last = b"a" * (5 * MiB), b"tail-of-10"
    _multipart(s3, "old", "mp/same-layout", [first, last])
    _multipart(lake, "data-lake", "mp/same-layout", [first, b"TAIL-OF-10"])  # same layout, other bytes
    _multipart(s3, "old", "mp/other-layout", [first, last])
    _multipart(lake, "data-lake", "mp/other-layout", [first + last[:5], last[5:]])  # same bytes, other cut
    report = botwo.sync(client, "s3://old/mp", "lake://data-lake/mp")
    by_key = {r.key: r for r in report.records()}
    assert by_key["same-layout"].action == "copied" and "same part layout" in by_key["same-layout"].reason
    assert (
        by_key["other-layout"].action == "same" and "different part layouts" in by_key["other-layout"].reason
    )
    heads = [r for r in _object_requests(sent) if r[1] == "HEAD" and "partNumber=1" in r[2]]
    assert len(heads) == 2 * 2  # part 1 of each object, on each side (the copy reads its result back too)
    assert _get(lake, "data-lake", "mp/same-layout") == first + last


def test_delete_never_deletes_outside_the_destination(world: tuple[Any, Sent, dict[str, Any]]) -> None:
    client, _sent, backends = world
    s3 = backends["s3"]
    for key in ("out/stale", "out/sub/stale", "out/keep.tmp", "out", "out2/y", "outside/x", "other"):
        s3.put_object(Bucket="data", Key=key, Body=b"x")
    report = botwo.sync(client, "s3://old/exports", "s3://data/out", delete=True, exclude=["*.tmp"])
    assert report.ok and report.deleted == 2 and report.copied == len(KEYS), report
    assert sorted(r.key for r in report.records() if r.action == "deleted") == ["stale", "sub/stale"]
    left = set(_keys(s3, "data"))
    assert {"out/keep.tmp", "out", "out2/y", "outside/x", "other"} <= left
    assert not {"out/stale", "out/sub/stale"} & left
    assert _keys(s3, "old", "exports/") == [f"exports/{k}" for k in sorted(KEYS)]  # the source untouched


def test_a_dry_run_sends_no_write(world: tuple[Any, Sent, dict[str, Any]]) -> None:
    client, sent, backends = world
    lake = backends["lake"]
    lake.put_object(Bucket="data-lake", Key="main/a.csv", Body=_body("a.csv"))  # same
    lake.put_object(Bucket="data-lake", Key="main/b c.txt", Body=b"different")  # differs
    lake.put_object(Bucket="data-lake", Key="main/only-here", Body=b"x")  # extra
    sent.clear()
    report = botwo.sync(client, "s3://old/exports", "s3://data/raw", dry_run=True, delete=True, checksum=True)
    assert {m for _, m, _ in sent.requests} <= {"GET", "HEAD"}, sent.requests
    assert report.counts["same"] == 1 and report.counts["differs"] == 1 and report.counts["extra"] == 1
    assert report.counts["missing"] == len(KEYS) - 2 and report.copied == report.deleted == 0
    assert not report.ok  # there is something to do
    assert sorted(_keys(lake, "data-lake")) == ["main/a.csv", "main/b c.txt", "main/only-here"]


def test_include_and_exclude_globs_on_the_relative_key(world: tuple[Any, Sent, dict[str, Any]]) -> None:
    client, _sent, backends = world
    report = botwo.sync(
        client, "s3://old/exports", "s3://data/picked", filters=[("exclude", "*"), ("include", "*.txt")]
    )
    assert sorted(r.key for r in report.records()) == ["b c.txt", "é/ü.txt"]
    assert sorted(_keys(backends["s3"], "data", "picked/")) == ["picked/b c.txt", "picked/é/ü.txt"]
    # Case-sensitive, and "*" crosses "/".
    upper = botwo.sync(
        client, "s3://old/exports", "s3://data/upper", exclude=["*"], include=["*.TXT", "deep*"]
    )
    assert [r.key for r in upper.records()] == ["deep/er/x.parquet"]


def test_a_read_only_destination_is_refused_before_anything_is_sent(
    world: tuple[Any, Sent, dict[str, Any]],
) -> None:
    client, sent, _backends = world
    for dest in ("s3://data/frozen/", "s3://data/frozen/sub", "s3://data/"):
        with pytest.raises(botwo.ReadOnlyError, match=r"mapping\[1\] \(client 's3'\)") as caught:
            botwo.sync(client, "s3://old/exports", dest, dry_run=True)
        assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert sent.requests == []
    with pytest.raises(botwo.AddressError, match="overlap"):
        botwo.sync(client, "s3://old/", "s3://old/exports/copy")
    with pytest.raises(botwo.AddressError, match="configured clients are lake, s3"):
        botwo.sync(client, "lakefs://repo/", "s3://data/x")
    assert sent.requests == []


def _reverse_listing(parsed: dict[str, Any], **_: Any) -> None:
    parsed["Contents"] = list(reversed(parsed.get("Contents", [])))


def test_a_listing_out_of_order_stops_the_sync_naming_the_backend(
    world: tuple[Any, Sent, dict[str, Any]],
) -> None:
    client, _sent, backends = world
    backends["s3"].meta.events.register("after-call.s3.ListObjectsV2", _reverse_listing)
    with pytest.raises(
        botwo.ListingOrderError, match="the source s3://old/exports/ \\(client 's3'\\)"
    ) as caught:
        botwo.sync(client, "s3://old/exports", "lake://data-lake/x")
    assert caught.value.side == "source" and caught.value.client == "s3" and caught.value.bucket == "old"
    assert _keys(backends["lake"], "data-lake") == []  # stopped before any key was decided out of order
    backends["lake"].put_object(Bucket="data-lake", Key="x/1", Body=b"1")
    backends["lake"].put_object(Bucket="data-lake", Key="x/2", Body=b"2")
    backends["lake"].meta.events.register("after-call.s3.ListObjectsV2", _reverse_listing)
    with pytest.raises(botwo.ListingOrderError) as other:
        botwo.sync(client, "lake://data-lake/x", "client:s3://data/y")
    assert other.value.side == "source" and other.value.client == "lake"
    assert isinstance(other.value, botwo.SyncError) and isinstance(other.value, RuntimeError)


def test_a_failing_key_is_recorded_naming_the_side_and_client(
    world: tuple[Any, Sent, dict[str, Any]], servers: dict[str, LocalS3Server]
) -> None:
    client, _sent, backends = world
    other = servers["s3"].client()

    def vanish(**_: Any) -> None:  # another writer deletes one object right after it was listed
        other.delete_object(Bucket="old", Key="exports/a.csv")

    backends["s3"].meta.events.register("after-call.s3.ListObjectsV2", vanish)
    report = botwo.sync(client, "s3://old/exports", "s3://data/raw")
    assert not report.ok and report.failed == 1 and report.copied == len(KEYS) - 1
    (failure,) = report.failures
    assert failure.key == "a.csv" and failure.step == "copy"
    assert "source s3://old/exports/a.csv (client 's3')" in failure.reason and "NoSuchKey" in failure.reason
    backends["s3"].meta.events.unregister("after-call.s3.ListObjectsV2", vanish)
    assert botwo.sync(client, "s3://old/exports", "s3://data/raw").ok  # gone from the source now


def test_the_report_object(world: tuple[Any, Sent, dict[str, Any]], tmp_path: Path) -> None:
    client, _sent, _backends = world
    seen: list[SyncRecord] = []
    progress: list[botwo.SyncProgress] = []
    path = tmp_path / "report.jsonl"
    report = botwo.sync(
        client,
        "s3://old/exports",
        "s3://data/raw",
        report=path,
        on_record=seen.append,
        on_progress=progress.append,
    )
    assert report.report_path == str(path)
    records = list(report.records())
    assert sorted(records, key=lambda r: r.key) == sorted(seen, key=lambda r: r.key)
    assert [json.loads(line)["key"] for line in path.read_text("utf-8").splitlines()] == [
        r.key for r in records
    ]
    assert progress[-1].objects_done == len(KEYS) and progress[-1].bytes_done == report.bytes_copied
    assert set(report.counts) == set(ACTIONS) and "copied" in str(report)
    for bad in ({"transfers": 0}, {"exclude": "*.tmp"}):
        with pytest.raises((ValueError, TypeError)):
            botwo.sync(client, "s3://old/exports", "s3://data/raw", **bad)
    with pytest.raises(TypeError, match="botwo client"):
        botwo.sync(object(), "s3://a/", "s3://b/")  # type: ignore[arg-type]


# -- the command ----------------------------------------------------------------------------


@pytest.fixture
def cli(world: tuple[Any, Sent, dict[str, Any]], servers: dict[str, LocalS3Server], tmp_path: Path) -> Cli:
    used = {"s3": servers["s3"], "lake": servers["lake"]}
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTWO_")}
    env.update(S3_SECRET=used["s3"].secret_key, LAKE_SECRET=used["lake"].secret_key, PYTHONPATH=str(ROOT))
    work = tmp_path / "work"
    work.mkdir()
    made = Cli(used, work, env, tmp_path / "botwo.toml")
    made.config.write_text(toml_document(made.tables(), MAPPING), encoding="utf-8")
    return made


def test_the_command_prints_aws_lines_and_writes_the_report(cli: Cli) -> None:
    first = cli.run("sync", "s3://old/exports", "lake://data-lake/main/", "--report", "r.jsonl")
    assert first.code == 0, first
    assert sorted(first.out.splitlines()) == sorted(
        f"copy: s3://old/exports/{k} to lake://data-lake/main/{k}" for k in KEYS
    )
    assert first.err.strip().startswith(f"sync: {len(KEYS)} copied"), first.err
    lines = [json.loads(line) for line in (cli.directory / "r.jsonl").read_text("utf-8").splitlines()]
    assert sorted(line["key"] for line in lines) == sorted(KEYS)
    for line in lines:
        size = len(_body(line["key"]))
        assert line == {
            "key": line["key"],
            "action": "copied",
            "step": "copy",
            "source_size": size,
            "destination_size": None,
            "reason": "missing at the destination",
        }
    # The routed view of the same objects: nothing to do, exit 0; a dry run with work, exit 1.
    again = cli.run("sync", "s3://old/exports", "s3://data/raw", "--quiet")
    assert again.code == 0 and again.out == again.err == "", again
    cli.backend("lake").put_object(Bucket="data-lake", Key="main/extra", Body=b"x")
    dry = cli.run("sync", "s3://old/exports", "s3://data/raw", "--dry-run", "--delete")
    assert dry.code == 1 and dry.out == "(dryrun) delete: s3://data/raw/extra\n", dry
    assert "(dry run)" in dry.err
    unknown = cli.run("sync", "lakefs://repo/main/", "s3://data/raw")
    assert unknown.code == 2 and "the configured clients are lake, s3" in unknown.err
    frozen = cli.run("sync", "s3://old/exports", "s3://data/frozen/")
    assert frozen.code == 2 and "read-only" in frozen.err
    filtered = cli.run("sync", "s3://old/exports", "s3://data/f", "--exclude", "*", "--include", "*.csv")
    assert filtered.out == "copy: s3://old/exports/a.csv to s3://data/f/a.csv\n", filtered


def test_an_interrupted_sync_completes_when_run_again(cli: Cli) -> None:
    s3, lake = cli.backend("s3"), cli.backend("lake")
    total = 150
    for i in range(total):
        s3.put_object(Bucket="old", Key=f"many/{i:04d}", Body=b"x" * (i % 7))
    argv = [sys.executable, "-m", "botwo", "sync", "s3://old/many", "s3://data/raw/many", "--transfers", "1"]
    process = subprocess.Popen(
        [*argv, "--config", str(cli.config)],
        cwd=cli.directory,
        env=cli.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(_keys(lake, "data-lake", "main/many/")) < 10 and time.monotonic() < deadline:
            assert process.poll() is None, "the sync ended before it could be interrupted"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    done = len(_keys(lake, "data-lake", "main/many/"))
    assert 10 <= done < total, done
    resumed = cli.run("sync", "s3://old/many", "s3://data/raw/many", "--report", "resume.jsonl")
    assert resumed.code == 0, resumed
    actions = [
        json.loads(line)["action"] for line in (cli.directory / "resume.jsonl").read_text().splitlines()
    ]
    assert actions.count("copied") == total - done and actions.count("same") == done
    assert len(_keys(lake, "data-lake", "main/many/")) == total
    final = cli.run("sync", "s3://old/many", "s3://data/raw/many", "--quiet")
    assert final.code == 0 and final.out == "", final


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_on_a_terminal_only(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in cli.env.items():
        monkeypatch.setenv(key, value)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    from botwo.__main__ import main

    assert main(["sync", "s3://old/exports", "s3://data/raw", "--config", str(cli.config)]) == 0
    drawn = terminal.getvalue()
    assert "Synced " in drawn and f"/{len(KEYS)}" in drawn and "keys compared" in drawn, drawn
    assert drawn.rstrip().splitlines()[-1].startswith(f"sync: {len(KEYS)} copied")
    plain = io.StringIO()
    monkeypatch.setattr(sys, "stderr", plain)
    assert main(["sync", "s3://old/exports", "s3://data/raw", "--config", str(cli.config)]) == 0
    assert "Synced" not in plain.getvalue() and plain.getvalue().startswith("sync: 0 copied")
    capsys.readouterr()


def test_a_destination_with_fallback_reads_is_listed_as_its_writes_see_it(backends: dict[str, Any]) -> None:
    # The read-through pattern: "media" moves from s3 to lake; reads fall back to s3.
    s3, lake = backends["s3"], backends["lake"]
    for backend in (s3, lake):
        backend.create_bucket(Bucket="media")
    for key in ("a.jpg", "b.jpg"):
        s3.put_object(Bucket="media", Key=key, Body=_body(key))
    lake.put_object(Bucket="media", Key="a.jpg", Body=_body("a.jpg"))  # copied already
    client = botwo.client(
        {"s3": s3, "lake": lake},
        [
            {"bucket_name": "media", "client": "lake", "fallback": ["s3"]},
            {"bucket_name": "*", "client": "s3"},
        ],
    )
    assert sorted(o["Key"] for o in client.list_objects_v2(Bucket="media")["Contents"]) == ["a.jpg", "b.jpg"]
    report = botwo.sync(client, "client:s3://media/", "s3://media/", dry_run=True)
    assert {r.key: r.action for r in report.records()} == {"a.jpg": "same", "b.jpg": "missing"}
    done = botwo.sync(client, "client:s3://media/", "s3://media/")
    assert done.ok and done.copied == 1
    assert sorted(_keys(lake, "media")) == ["a.jpg", "b.jpg"] and _get(lake, "media", "b.jpg") == _body(
        "b.jpg"
    )
    assert botwo.sync(client, "client:s3://media/", "s3://media/", dry_run=True).ok


def test_memory_stays_flat_as_the_listings_grow(
    backends: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import tracemalloc
    from concurrent.futures import ThreadPoolExecutor

    # Pages of 100 keys instead of 1,000: the same code over many pages, with fewer objects.
    monkeypatch.setattr(botwo._syncer, "MAX_PAGE", 100)
    s3 = backends["s3"]
    s3.create_bucket(Bucket="many")
    client = botwo.client({"s3": s3}, [{"bucket_name": "*", "client": "s3"}])

    def put(i: int) -> None:
        s3.put_object(Bucket="many", Key=f"k/{i:06d}", Body=b"")

    botwo.sync(client, "client:s3://many/warm-up", "s3://many/warm-up")  # one-time costs out of the way
    peaks = []
    made = 0
    for total in (400, 1600):  # 4 pages a side, then 16
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(put, range(made, total)))
        made = total
        tracemalloc.start()
        try:
            # The same objects on both sides (the bucket directly, and through the rule):
            # everything is compared, nothing copied.
            report = botwo.sync(client, "client:s3://many/k", "s3://many/k")
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert report.ok and report.same == total
    assert peaks[1] < peaks[0] * 1.3, peaks
