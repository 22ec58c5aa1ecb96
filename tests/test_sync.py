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
    st.lists(st.tuples(st.sampled_from(["SHA256", "CRC32"]), st.sampled_from(["x", "y", "x-2"])), max_size=2).map(
        lambda pairs: tuple(dict(pairs).items())
    ),
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
def test_compare_decides_once_everything_is_known(src: Entry, dst: Entry, checksum: bool, known: Known) -> None:
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
    assert compare(src, dst, checksum=True, known=Known(source_checksums=crc, dest_checksums=crc)).outcome == "same"
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
        objects_done=3, objects_total=10, bytes_done=2 * MiB, bytes_total=8 * MiB, compared=1200, elapsed=1.0, listed=False
    )
    assert listing == "Synced 3/10+ objects, 2.0 MiB/8.0 MiB+ (2.0 MiB/s), listing; 1,200 keys compared"
    done = _sync.progress_text(
        objects_done=3, objects_total=10, bytes_done=2 * MiB, bytes_total=8 * MiB, compared=1200, elapsed=1.0, listed=True
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
