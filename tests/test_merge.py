"""Merged listings, without I/O: the merge over in-memory backends against one S3.

``Store`` is a small model of S3's ListObjectsV2 (Prefix, Delimiter, StartAfter,
MaxKeys, ContinuationToken) over a sorted set of keys. The property: whatever the rule
table, the fallbacks and the keys each backend holds (stale copies in other routes'
parts included), paging through the merged listing gives exactly the pages that one
store holding the caller's view would give.
"""

from __future__ import annotations

import bisect
import concurrent.futures
import os
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from botwo._listing import MergedListing, plan_streams
from botwo._merge import MergeCursor, Position, rolls_up_at_backend
from botwo._operations import LISTINGS
from botwo._rules import Rule
from botwo._table import RuleTable
from botwo.errors import TokenError

KEY = b"k" * 32
POOL = concurrent.futures.ThreadPoolExecutor(4)
OUTPUT = frozenset(
    {"IsTruncated", "Contents", "Name", "Prefix", "Delimiter", "MaxKeys", "CommonPrefixes", "EncodingType"}
    | {"KeyCount", "ContinuationToken", "NextContinuationToken", "StartAfter", "RequestCharged"}
)


class Store:
    """ListObjectsV2 over in-memory buckets, as S3 pages it."""

    def __init__(self, buckets: dict[str, set[str]]) -> None:
        self.buckets = {name: sorted(keys) for name, keys in buckets.items()}
        self.sizes: list[int] = []  # MaxKeys of each request

    def list_objects_v2(self, **params: Any) -> dict[str, Any]:
        self.sizes.append(params.get("MaxKeys", 1000))
        keys = self.buckets[params["Bucket"]]
        prefix = params.get("Prefix", "")
        delimiter = params.get("Delimiter") or None
        limit = min(params.get("MaxKeys", 1000), 1000)
        after = params.get("ContinuationToken") or params.get("StartAfter") or ""
        entries: list[tuple[str, bool]] = []
        i = bisect.bisect_right(keys, after)
        while i < len(keys):
            key = keys[i]
            i += 1
            if not key.startswith(prefix):
                if key > prefix:
                    break
                continue
            cut = key.find(delimiter, len(prefix)) if delimiter else -1
            if cut >= 0:
                cp = key[: cut + len(delimiter or "")]
                if (entries and entries[-1] == (cp, True)) or cp <= after:
                    continue
                entries.append((cp, True))
            else:
                entries.append((key, False))
            if len(entries) > limit:
                break
        truncated = len(entries) > limit
        entries = entries[:limit]
        out: dict[str, Any] = {
            "Name": params["Bucket"],
            "Prefix": prefix,
            "MaxKeys": params.get("MaxKeys", 1000),
            "KeyCount": len(entries),
            "IsTruncated": truncated,
        }
        contents = [{"Key": k, "Size": 0} for k, is_cp in entries if not is_cp]
        prefixes = [{"Prefix": k} for k, is_cp in entries if is_cp]
        if contents:
            out["Contents"] = contents
        if prefixes:
            out["CommonPrefixes"] = prefixes
        if delimiter:
            out["Delimiter"] = delimiter
        if "StartAfter" in params:
            out["StartAfter"] = params["StartAfter"]
        if truncated:
            out["NextContinuationToken"] = entries[-1][0]
        return out


# A caller bucket "b" split by prefix rules over clients x, y, z; the catch-all on x.
prefixes = st.sampled_from(["", "a", "a/", "a/b/", "a/b/c", "ab", "b/", "b//", "/"])
names = st.text("ab/c", max_size=5)


@st.composite
def tables(draw: st.DrawFn) -> tuple[Rule, ...]:
    rules = []
    for _ in range(draw(st.integers(0, 4))):
        client = draw(st.sampled_from("xyz"))
        fallback = draw(st.lists(st.sampled_from([c for c in "xyz" if c != client]), unique=True, max_size=1))
        prefix = draw(prefixes.filter(bool))
        rules.append(
            Rule(
                bucket_name="b",
                client=client,
                prefix=prefix,
                strip_prefix=draw(st.booleans()),
                key_prefix=draw(st.sampled_from(["", "k/", "a"])),
                mapped_bucket_name=draw(st.sampled_from([None, "t"])),
                fallback=tuple(fallback),
            )
        )
    rules.append(Rule(bucket_name="*", client="x", fallback=tuple(draw(st.sampled_from([(), ("y",)])))))
    return tuple(rules)


def caller_view(table: RuleTable, stores: dict[str, Store], caller_keys: set[str]) -> set[str]:
    """The caller keys that a read of each would find: in the route's first client holding it."""
    seen = set()
    for key in caller_keys:
        route = table.route("b", key)
        target = route.to_target_key(key)
        if any(target in stores[c].buckets.get(route.target_bucket, ()) for c in route.clients):
            seen.add(key)
    return seen


def merged_pages(table: RuleTable, stores: dict[str, Store], params: dict[str, Any]) -> list[dict[str, Any]]:
    pages = []
    spec = LISTINGS["ListObjectsV2"]
    while True:
        prefix = params.get("Prefix", "")
        delimiter = params.get("Delimiter")
        listing = MergedListing(
            spec=spec,
            operation="list_objects_v2",
            output_members=OUTPUT,
            bucket="b",
            streams=plan_streams(table.listing_plan("b", prefix), prefix, delimiter),
            clients=stores,
            params=params,
            token_key=KEY,
            pool=POOL,
        )
        page = listing()
        pages.append(page)
        if not page["IsTruncated"]:
            return pages
        assert len(pages) < 100
        params = {**params, "ContinuationToken": page["NextContinuationToken"]}


def oracle_pages(store: Store, params: dict[str, Any]) -> list[dict[str, Any]]:
    pages = []
    while True:
        page = store.list_objects_v2(**params)
        pages.append(page)
        if not page["IsTruncated"]:
            return pages
        params = {**params, "ContinuationToken": page["NextContinuationToken"]}


def _observable(page: dict[str, Any]) -> tuple[Any, ...]:
    return (
        [c["Key"] for c in page.get("Contents", [])],
        [p["Prefix"] for p in page.get("CommonPrefixes", [])],
        page["IsTruncated"],
        page["KeyCount"],
        page.get("Prefix"),
        page.get("StartAfter"),
    )


@settings(max_examples=int(os.environ.get("BOTWO_MERGE_EXAMPLES", "400")), deadline=None)
@given(
    tables(),
    st.dictionaries(st.sampled_from("xyz"), st.sets(names, max_size=12), min_size=3),
    prefixes | names,
    st.sampled_from([None, "/", "b", "//"]),
    st.sampled_from([None, 1, 2, 3, 1000]),
    st.sampled_from([None, "a", "a/", "a/b", "b"]),
)
def test_merged_pages_equal_one_store(
    rules: tuple[Rule, ...],
    held: dict[str, set[str]],
    prefix: str,
    delimiter: str | None,
    max_keys: int | None,
    start_after: str | None,
) -> None:
    table = RuleTable(rules)
    assume(not table.overlaps())  # two caller names for one object: warned at build time
    # Each backend holds target keys for every route through it, plus stale keys that
    # other routes own (written there before a migration).
    buckets: dict[str, dict[str, set[str]]] = {c: {"b": set(), "t": set()} for c in "xyz"}
    for client, keys in held.items():
        for key in keys:
            route = table.route("b", key)
            if route.to_target_key(key):  # S3 has no empty key
                buckets[client][route.target_bucket].add(route.to_target_key(key))
            if key:
                buckets[client]["b"].add(key)
    stores = {c: Store(b) for c, b in buckets.items()}
    everything = {key for keys in held.values() for key in keys}
    for route, _, _ in table.listing_plan("b", ""):  # what stale keys look like to the caller
        for client in route.clients:
            for key in buckets[client][route.target_bucket]:
                caller = route.to_caller_key(key)
                if caller is not None and table.route("b", caller) == route:
                    everything.add(caller)
    oracle = Store({"b": caller_view(table, stores, everything)})
    params: dict[str, Any] = {"Bucket": "b", "Prefix": prefix}
    if delimiter is not None:
        params["Delimiter"] = delimiter
    if max_keys is not None:
        params["MaxKeys"] = max_keys
    if start_after is not None:
        params["StartAfter"] = start_after
    ours = [_observable(p) for p in merged_pages(table, stores, params)]
    theirs = [_observable(p) for p in oracle_pages(oracle, params)]
    assert ours == theirs


def test_a_split_listing_reads_each_backend_only_where_it_serves() -> None:
    # raw/ on y, the rest on x: a page inside x's part reads at most one name of y (to
    # learn whether more follows), and nothing is read twice.
    table = RuleTable(
        (
            Rule(bucket_name="b", prefix="raw/", client="y"),
            Rule(bucket_name="*", client="x"),
        )
    )
    stores = {
        "x": Store({"b": {f"a{i:03}" for i in range(50)} | {"z"}}),
        "y": Store({"b": {"raw/1", "raw/2"}}),
    }
    pages = merged_pages(table, stores, {"Bucket": "b", "MaxKeys": 10})
    assert [len(p.get("Contents", [])) for p in pages] == [10, 10, 10, 10, 10, 3]
    assert [c["Key"] for c in pages[-1]["Contents"]] == ["raw/1", "raw/2", "z"]
    assert stores["y"].sizes == [1, 11]  # a probe on the first page only: the token says the rest
    assert len(stores["x"].sizes) == len(pages)


def test_tokens_are_checked() -> None:
    table = RuleTable((Rule(bucket_name="b", prefix="p/", client="y"), Rule(bucket_name="*", client="x")))
    stores = {"x": Store({"b": {"a", "b", "c"}}), "y": Store({"b": {"p/1"}})}
    first = merged_pages(table, stores, {"Bucket": "b", "MaxKeys": 1})[0]
    token = first["NextContinuationToken"]
    for bad, why in [
        (token[:-2] + "xx", "not issued"),
        ("bw2-" + "A" * 40, "not issued"),
    ]:
        with pytest.raises(TokenError, match=why):
            merged_pages(table, stores, {"Bucket": "b", "ContinuationToken": bad})
    with pytest.raises(TokenError, match="another listing"):
        merged_pages(table, stores, {"Bucket": "b", "Prefix": "a", "ContinuationToken": token})


def test_backend_rollup_only_where_the_delimiter_falls_after_the_stream_prefix() -> None:
    assert rolls_up_at_backend("", "/", "")
    assert rolls_up_at_backend("a/", "/", "a/b")
    assert not rolls_up_at_backend("", "/", "raw/")
    assert not rolls_up_at_backend("", "//", "a/")  # the delimiter may straddle
    assert rolls_up_at_backend("a/", "/", "a/")


def test_cursor_stops_at_the_limit_and_knows_there_is_more() -> None:
    table = RuleTable((Rule(bucket_name="*", client="x"),))
    streams = plan_streams(table.listing_plan("b", ""), "", None)
    cursor = MergeCursor(streams, prefix="", delimiter=None, limit=0, start=Position("a"))
    assert cursor.requests() == [] and cursor.items == [] and not cursor.truncated
