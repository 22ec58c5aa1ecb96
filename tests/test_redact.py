"""Redaction: one rule for every message, repr, log line and serializer."""

from __future__ import annotations

import urllib.parse

from hypothesis import given
from hypothesis import strategies as st

from botwo._redact import MASK, hide_userinfo, redact, safe_endpoint, scrub_urls, url_passwords

# What RFC 3986 lets userinfo hold unencoded, and "@" (which passwords hold in practice).
userinfo = st.text(
    st.characters(codec="ascii", exclude_categories=("Cc", "Zs"), exclude_characters="/\\#?[]"),
    min_size=1,
    max_size=12,
)


@given(user=userinfo, password=userinfo, port=st.integers(1, 65535))
def test_a_urls_userinfo_never_shows(user: str, password: str, port: int) -> None:
    url = f"https://{user}:{password}@s3.example.com:{port}/path"
    for shown in (safe_endpoint(url), hide_userinfo(f"could not reach {url} (timeout)")):
        assert shown is not None
        assert f"{user}:{password}@" not in shown
        assert f"s3.example.com:{port}/path" in shown
    assert scrub_urls({"a": [url], "b": 1}) == {"a": [f"https://s3.example.com:{port}/path"], "b": 1}


def test_endpoints_without_userinfo_are_unchanged() -> None:
    for url in ("http://127.0.0.1:9000", "https://[::1]:443/", "s3.example.com"):
        assert safe_endpoint(url) == url and hide_userinfo(url) == url
    assert safe_endpoint(None) is None
    assert safe_endpoint("http://[::1") == "(invalid URL)"


def test_secrets_are_masked_longest_first() -> None:
    assert redact("key=abcd1234 and abcd", ["abcd", "abcd1234"]) == f"key={MASK} and {MASK}"
    assert redact("short ab", ["ab"]) == "short ab"  # too short to mask safely
    quoted = urllib.parse.quote("p@ss/word", safe="")
    assert url_passwords(f"http://u:{quoted}@h") == {quoted, "p@ss/word"}
    assert url_passwords("http://h") == set() and url_passwords(None) == set()
