"""Renaming of keys, markers, encoded names, Locations and copy sources."""

from __future__ import annotations

import urllib.parse

from hypothesis import assume, given
from hypothesis import strategies as st

from botwo._names import (
    caller_arn,
    caller_location,
    encoded_to_caller,
    marker_to_target,
    parse_copy_source,
)
from botwo._rules import Rule
from botwo._table import Route, RuleTable

# Awkward key characters: percent, plus, query, brackets, space, unicode, backslash, slash.
AWKWARD = "ab/%+?[ \\~é€\U0001f600"
keys = st.text(AWKWARD, max_size=6)


@st.composite
def routes(draw: st.DrawFn) -> Route:
    prefix = draw(st.text("ab/", max_size=3))
    strip = bool(prefix) and draw(st.booleans())
    rule = Rule(
        bucket_name="caller",
        client="x",
        mapped_bucket_name=draw(st.sampled_from([None, "target"])),
        key_prefix=draw(st.sampled_from(["", "main/", "dev/x", "é/"])),
        prefix=prefix,
        strip_prefix=strip,
    )
    return RuleTable((rule, Rule(bucket_name="*", client="y"))).route("caller", prefix)


@given(routes(), keys)
def test_renaming_a_key_round_trips(route: Route, rest: str) -> None:
    key = route.owns + rest
    assert route.to_caller_key(route.to_target_key(key)) == key


@given(routes(), keys, keys, st.lists(keys, max_size=6))
def test_a_marker_selects_the_same_keys_on_the_target(
    route: Route, extra: str, marker: str, rests: list[str]
) -> None:
    prefix = route.owns + extra  # a listing prefix that the route owns
    # Keys as S3 has them: a target key is never empty.
    listed = [prefix + r for r in rests if route.to_target_key(prefix + r)]
    target_marker = marker_to_target(route, prefix, marker)
    expected = {k for k in listed if k > marker}
    got = {k for k in listed if route.to_target_key(k) > target_marker}
    assert got == expected


@given(routes(), keys)
def test_url_encoded_target_keys_come_back_encoded_in_caller_names(route: Route, rest: str) -> None:
    key = route.owns + rest
    encoded = urllib.parse.quote(route.to_target_key(key), safe="/")
    back = encoded_to_caller(route, encoded)
    assert back is not None
    assert urllib.parse.unquote_plus(back) == key


@given(routes(), keys)
def test_keys_outside_the_route_never_reach_the_caller(route: Route, key: str) -> None:
    assume(not key.startswith(route.key_prefix))
    assert route.to_caller_key(key) is None
    assert encoded_to_caller(route, urllib.parse.quote(key, safe="/")) is None


def _route(**fields: object) -> Route:
    rule = Rule(bucket_name="caller", client="x", **fields)  # type: ignore[arg-type]
    return RuleTable((rule, Rule(bucket_name="*", client="y"))).route("caller", "")


def test_location_keeps_the_host_and_takes_caller_names() -> None:
    route = _route(mapped_bucket_name="repo", key_prefix="main/")
    assert caller_location(route, "/repo", None, None) == "/caller"
    assert (
        caller_location(route, "http://repo.s3.amazonaws.com/main/a b", "main/a b", "a b")
        == "http://caller.s3.amazonaws.com/a b"
    )
    assert (
        caller_location(route, "http://127.0.0.1:9000/repo/main/a%20b", "main/a b", "a b")
        == "http://127.0.0.1:9000/caller/a%20b"
    )
    assert (
        caller_location(
            route, "http://repo.s3.amazonaws.com/main/=&/what?#x", "main/=&/what?#x", "=&/what?#x"
        )
        == "http://caller.s3.amazonaws.com/=&/what?#x"
    )
    assert caller_arn(route, "arn:aws:s3:::repo") == "arn:aws:s3:::caller"


def test_copy_source_forms() -> None:
    parsed = parse_copy_source("bucket/dir/a b?versionId=v1")
    assert parsed is not None and parsed.as_dict() == {
        "Bucket": "bucket",
        "Key": "dir/a b",
        "VersionId": "v1",
    }
    parsed = parse_copy_source("/bucket/k?x")
    assert parsed is not None and parsed.as_dict() == {"Bucket": "bucket", "Key": "k?x"}
    parsed = parse_copy_source({"Bucket": "b", "Key": "k", "VersionId": "v"})
    assert parsed is not None and parsed.as_dict() == {"Bucket": "b", "Key": "k", "VersionId": "v"}
    assert parse_copy_source("no-key") is None
    assert parse_copy_source({"Bucket": "b"}) is None
    assert parse_copy_source(42) is None
