"""Request rewriting and response translation as pure functions over dicts."""

from __future__ import annotations

import contextlib
import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botwo._operations import LISTINGS
from botwo._rules import Rule
from botwo._table import Route, RuleTable
from botwo._tokens import decode_token, encode_token
from botwo._translate import error_response, listing_request, listing_response
from botwo.errors import TokenError

KEY = b"k" * 32
V2 = LISTINGS["ListObjectsV2"]
V1 = LISTINGS["ListObjects"]


def _route(prefix: str = "", **fields: object) -> Route:
    rule = Rule(bucket_name="caller", client="x", prefix=prefix, **fields)  # type: ignore[arg-type]
    return RuleTable((rule, Rule(bucket_name="*", client="y"))).route("caller", prefix)


def _serve(route: Route, params: dict[str, object], names: list[str], token: str | None) -> dict[str, object]:
    """What S3 would answer to the rewritten request, over the target names of ``names``."""
    target_prefix = params.get("Prefix", "")
    assert isinstance(target_prefix, str)
    contents = [{"Key": t, "Size": 1} for t in sorted({route.to_target_key(n) for n in names})]
    contents = [c for c in contents if c["Key"].startswith(target_prefix)]
    response: dict[str, object] = {
        "Name": params["Bucket"],
        "Prefix": target_prefix,
        "Contents": contents,
        "KeyCount": len(contents),
        "IsTruncated": token is not None,
    }
    if token is not None:
        response["NextContinuationToken"] = token
    return response


@given(st.lists(st.text("ab/ %é", max_size=5), max_size=5), st.sampled_from(["", "main/"]), st.booleans())
def test_a_listing_comes_back_in_caller_names_and_inputs_are_untouched(
    rests: list[str], key_prefix: str, strip: bool
) -> None:
    route = _route("raw/", key_prefix=key_prefix, strip_prefix=strip, mapped_bucket_name="t")
    params = {"Bucket": "caller", "Prefix": "raw/"}
    before = copy.deepcopy(params)
    target = listing_request(V2, route, params, KEY)
    assert params == before
    names = ["raw/" + r for r in rests]
    response = _serve(route, target, names, token="backend-token")
    frozen = copy.deepcopy(response)
    out = listing_response(V2, route, params, response, KEY)
    assert response == frozen
    assert out["Name"] == "caller" and out["Prefix"] == "raw/"
    assert [c["Key"] for c in out["Contents"]] == sorted(set(names), key=route.to_target_key)
    # The next page's token goes back to the backend as the backend's own token.
    again = listing_request(V2, route, {**params, "ContinuationToken": out["NextContinuationToken"]}, KEY)
    assert again["ContinuationToken"] == "backend-token"


def test_tokens_are_opaque_and_checked() -> None:
    route = _route("raw/", key_prefix="main/")
    token = listing_response(
        V2, route, {"Bucket": "caller", "Prefix": "raw/"}, {"NextContinuationToken": "main/raw/secret"}, KEY
    )["NextContinuationToken"]
    assert "main/" not in token and "secret" not in token
    with pytest.raises(TokenError, match="another listing"):
        listing_request(V2, route, {"Bucket": "caller", "Prefix": "raw/x", "ContinuationToken": token}, KEY)
    with pytest.raises(TokenError, match="not issued by this client"):
        listing_request(
            V2, route, {"Bucket": "caller", "Prefix": "raw/", "ContinuationToken": token}, b"other"
        )
    with pytest.raises(TokenError, match="not issued by this client"):
        listing_request(V2, route, {"Bucket": "caller", "Prefix": "raw/", "ContinuationToken": "abc"}, KEY)


@given(
    st.recursive(st.text() | st.integers() | st.none(), lambda c: st.lists(c, max_size=3), max_leaves=6),
    st.integers(0, 200),
    st.characters(),
)
def test_a_damaged_token_is_refused_or_unchanged(payload: object, where: int, char: str) -> None:
    token = encode_token(payload, KEY)
    assert decode_token(token, KEY) == payload
    where %= len(token)
    damaged = token[:where] + char + token[where + 1 :]
    with contextlib.suppress(TokenError):
        assert decode_token(damaged, KEY) == payload


def test_an_opaque_next_marker_is_wrapped_and_a_key_is_renamed() -> None:
    route = _route(key_prefix="main/")
    params = {"Bucket": "caller", "Prefix": ""}
    out = listing_response(V1, route, params, {"NextMarker": "main/a/b"}, KEY)
    assert out["NextMarker"] == "a/b"
    out = listing_response(V1, route, params, {"NextMarker": "e68fc8847403"}, KEY)
    assert out["NextMarker"].startswith("bw2-")
    assert (
        listing_request(V1, route, {**params, "Marker": out["NextMarker"]}, KEY)["Marker"] == "e68fc8847403"
    )


def test_explicit_url_encoding_is_kept() -> None:
    route = _route("raw/", key_prefix="main/", strip_prefix=True)
    params = {"Bucket": "caller", "Prefix": "raw/", "EncodingType": "url"}
    response = {
        "Prefix": "main/",
        "Contents": [{"Key": "main/a%20b%2Bc"}],
        "CommonPrefixes": [{"Prefix": "main/%C3%BC/"}],
    }
    out = listing_response(V2, route, params, response, KEY)
    assert out["Contents"] == [{"Key": "raw/a%20b%2Bc"}]
    assert out["CommonPrefixes"] == [{"Prefix": "raw/%C3%BC/"}]
    assert out["Prefix"] == "raw/"


def test_errors_name_the_callers_bucket_and_key() -> None:
    response = {
        "Error": {
            "Code": "NoSuchKey",
            "Message": "no main/a/b in repo",
            "Key": "main/a/b",
            "BucketName": "repo",
            "Resource": "/repo/main/a/b",
        },
        "ResponseMetadata": {"HTTPStatusCode": 404},
    }
    frozen = copy.deepcopy(response)
    out = error_response(response, keys=[("main/a/b", "a/b")], buckets=[("repo", "caller")])
    assert response == frozen
    assert out["Error"] == {
        "Code": "NoSuchKey",
        "Message": "no a/b in caller",
        "Key": "a/b",
        "BucketName": "caller",
        "Resource": "/caller/a/b",
    }
    # A bucket name inside a longer word is left alone.
    out = error_response({"Error": {"Message": "repository repo"}}, buckets=[("repo", "c")])
    assert out["Error"]["Message"] == "repository c"
