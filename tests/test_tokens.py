"""Tokens: every format sealed, opaque, and opened only by the key and listing they were made for."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botwo._tokens import (
    bucket_list_token,
    decode_token,
    encode_token,
    merged_token,
    read_bucket_list_token,
    read_merged_token,
    read_route_token,
    route_token,
    token_key,
)
from botwo.errors import TokenError

KEY = token_key(b"f" * 32, ["secret-key"])


def _raw(token: str) -> bytes:
    blob = token.removeprefix("bw2-")
    return base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4))


@given(st.text(min_size=8), st.text(min_size=8))
def test_nothing_inside_a_token_can_be_read_from_it(backend: str, bucket: str) -> None:
    token = route_token(KEY, bucket=bucket, rule=3, prefix="p/", backend=backend)
    raw = _raw(token)
    for secret in (backend, bucket):
        encoded = secret.encode("utf-8", "surrogatepass")
        assert encoded not in raw
    opened = read_route_token(token, KEY, what="ContinuationToken", bucket=bucket, rule=3, prefix="p/")
    assert opened == backend


def test_the_key_binds_rules_and_secrets() -> None:
    token = encode_token({"a": 1}, KEY)
    assert decode_token(token, token_key(b"f" * 32, ["secret-key"])) == {"a": 1}
    others = (token_key(b"g" * 32, ["secret-key"]), token_key(b"f" * 32, ["other"]), token_key(b"f" * 32))
    for other in others:
        with pytest.raises(TokenError, match="not issued by this client"):
            decode_token(token, other)


def test_sealing_is_deterministic_and_depends_on_the_payload() -> None:
    a = route_token(KEY, bucket="b", rule=0, prefix="", backend="x" * 10)
    assert a == route_token(KEY, bucket="b", rule=0, prefix="", backend="x" * 10)
    assert a != route_token(KEY, bucket="b", rule=0, prefix="", backend="y" * 10)


def test_formats_are_not_interchangeable() -> None:
    route = route_token(KEY, bucket="b", rule=0, prefix="", backend="t")
    merged = merged_token(KEY, bucket="b", prefix="", position=["k", None, False], hints=[0])
    buckets = bucket_list_token(KEY, "zeta")
    with pytest.raises(TokenError, match="not a merged one"):
        read_merged_token(route, KEY, what="ContinuationToken", bucket="b", prefix="", streams=2)
    with pytest.raises(TokenError, match="one route"):
        read_route_token(merged, KEY, what="ContinuationToken", bucket="b", rule=0, prefix="")
    with pytest.raises(TokenError, match="bucket-list position"):
        read_bucket_list_token(merged, KEY)
    assert read_bucket_list_token(buckets, KEY) == "zeta"
    what = "ContinuationToken"
    position, hints = read_merged_token(merged, KEY, what=what, bucket="b", prefix="", streams=2)
    assert position == ["k", None, False] and hints == {0}


def test_a_token_names_its_listing() -> None:
    route = route_token(KEY, bucket="b", rule=0, prefix="a/", backend="t")
    with pytest.raises(TokenError, match="another listing"):
        read_route_token(route, KEY, what="ContinuationToken", bucket="b", rule=0, prefix="b/")
    merged = merged_token(KEY, bucket="b", prefix="", position=None, hints=[5])
    with pytest.raises(TokenError, match="listing position"):  # a stream this listing lacks
        read_merged_token(merged, KEY, what="ContinuationToken", bucket="b", prefix="", streams=2)


@given(st.binary(min_size=1, max_size=80))
def test_garbage_is_refused_without_echoing_it(junk: bytes) -> None:
    token = "bw2-" + base64.urlsafe_b64encode(junk).decode()
    with pytest.raises(TokenError) as caught:
        decode_token(token, KEY)
    assert token not in str(caught.value)
