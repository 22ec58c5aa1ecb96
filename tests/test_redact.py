"""Redaction: one rule for every message, repr, log line and serializer."""

from __future__ import annotations

import copy
import json
import urllib.parse
from typing import Any

import fsspec
from hypothesis import assume, given
from hypothesis import strategies as st

import botwo
from botwo import _check
from botwo._redact import (
    MASK,
    hide_userinfo,
    is_proxy_option,
    mask_userinfo,
    redact,
    safe_endpoint,
    scrub_client_urls,
    strip_userinfo,
    url_passwords,
    userinfo_span,
)

# Userinfo as people write it, encoded or not: "@", ":", "/", "%", "?", "#", "[" included.
userinfo = st.text(
    st.characters(codec="ascii", exclude_categories=("Cc",)),
    min_size=1,
    max_size=12,
)
hosts = st.sampled_from(["s3.example.com", "127.0.0.1", "[::1]", "[2001:db8::5]", "MinIO.Local"])
ports = st.integers(1, 65535)


@given(user=userinfo, password=userinfo, host=hosts, port=ports)
def test_a_urls_password_never_shows(user: str, password: str, host: str, port: int) -> None:
    kept = f"{host}:{port}/path"
    assume(password not in f"https://{kept}")
    url = f"https://{user}:{password}@{kept}"
    assert strip_userinfo(url) == f"https://{kept}"
    assert safe_endpoint(url) in (f"https://{kept}", "(invalid URL)")  # "[" without "]"
    assume(":" not in user)
    assert password in url_passwords(url)


@given(user=userinfo, password=userinfo, host=hosts, port=ports)
def test_a_masked_url_keeps_all_but_its_userinfo(user: str, password: str, host: str, port: int) -> None:
    kept = f"{host}:{port}/path"
    # Not "//..." nor "scheme://...": those are URLs with an authority of their own.
    assume("//" not in user and not password.startswith("//"))
    for url, shown in (
        (f"https://{user}:{password}@{kept}", f"https://{MASK}@{kept}"),
        (f"{user}:{password}@{kept}", f"{MASK}@{kept}"),  # a proxy as botocore takes it
    ):
        assert mask_userinfo(url) == shown
    assert mask_userinfo(f"https://{kept}") == f"https://{kept}"


@given(user=userinfo, password=userinfo, host=hosts, port=ports)
def test_the_userinfo_span_is_what_strip_userinfo_takes_out(
    user: str, password: str, host: str, port: int
) -> None:
    for url in (f"https://{user}:{password}@{host}:{port}/p", f"{user}:{password}@{host}:{port}", host):
        start, end = userinfo_span(url)
        assert url[:start] + url[end:] == strip_userinfo(url)
        assert mask_userinfo(url) == (url[:start] + MASK + "@" + url[end:] if end > start else url)


def test_proxy_options_are_the_proxies_table_and_its_dotted_names() -> None:
    assert is_proxy_option("proxies") and is_proxy_option("proxies.https")
    assert not is_proxy_option("proxies_config") and not is_proxy_option("proxies_config.proxy_ca_bundle")


@given(user=userinfo, password=userinfo, port=ports)
def test_a_proxy_without_a_scheme_loses_its_userinfo(user: str, password: str, port: int) -> None:
    # botocore reads "user:pass@host:port" as an http:// proxy (httpsession._fix_proxy_url).
    kept = f"10.0.0.1:{port}"
    # Not "//..." nor "scheme://...": those are URLs with an authority of their own.
    assume(password not in kept and "//" not in user and not password.startswith("//"))
    url = f"{user}:{password}@{kept}"
    assert strip_userinfo(url) == kept
    assert strip_userinfo("//" + url) == "//" + kept


@given(user=userinfo, password=userinfo, port=ports)
def test_urls_in_a_message_lose_their_userinfo(user: str, password: str, port: int) -> None:
    # In free text the URL ends at a "/" or a space: a bucket and key after it stay readable.
    assume(not any(c in user + password for c in "/ "))
    url = f"https://{user}:{password}@s3.example.com:{port}"
    shown = hide_userinfo(f"could not reach {url}/bucket/a@b.txt (timeout)")
    assert shown == f"could not reach https://s3.example.com:{port}/bucket/a@b.txt (timeout)"


@given(st.text())
def test_garbage_never_raises(text: str) -> None:
    assert isinstance(strip_userinfo(text), str)
    assert isinstance(safe_endpoint(text), str)
    assert isinstance(hide_userinfo(text), str)
    assert isinstance(mask_userinfo(text), str)
    assert isinstance(url_passwords(text), set)


def test_endpoints_without_userinfo_are_unchanged() -> None:
    for url in ("http://127.0.0.1:9000", "https://[::1]:443/", "s3.example.com", "HTTPS://Host"):
        assert safe_endpoint(url) == url and hide_userinfo(url) == url and strip_userinfo(url) == url
    assert safe_endpoint(None) is None
    assert safe_endpoint("http://[::1") == "(invalid URL)"
    assert strip_userinfo("http://u:p@[::1") == "http://[::1"  # no check, never raises


def test_userinfo_ends_at_the_last_at_sign() -> None:
    assert strip_userinfo("http://u:p@ss/w?o#rd@[::1]:9000/x") == "http://[::1]:9000/x"
    assert strip_userinfo("https://u:p%40ss@h") == "https://h"
    assert safe_endpoint("HTTPS://U:P@MinIO.Local:9000") == "HTTPS://MinIO.Local:9000"
    assert url_passwords("http://u:p:@a@host") == {"p:@a"}  # the user ends at the first ":"
    assert url_passwords("u:pw@proxy:3128") == {"pw"}


def test_secrets_are_masked_longest_first() -> None:
    assert redact("key=abcd1234 and abcd", ["abcd", "abcd1234"]) == f"key={MASK} and {MASK}"
    assert redact("short ab", ["ab"]) == "short ab"  # too short to mask safely
    assert redact("via http://u:s3cr3t@h/b", []) == "via http://h/b"
    quoted = urllib.parse.quote("p@ss/word", safe="")
    assert url_passwords(f"http://u:{quoted}@h") == {quoted, "p@ss/word"}
    assert url_passwords("http://h") == set() and url_passwords(None) == set()


def test_a_client_table_loses_only_its_url_userinfo() -> None:
    table: dict[str, Any] = {
        "endpoint_url": "http://ops:pw@h:9000",
        "profile_name": "me@corp",
        "config": {
            "proxies": {"https": "http://p:x@proxy:3128", "http": "${PROXY}"},
            "proxies.http": "q:y@proxy:3128",
            "proxies_config": {"proxy_ca_bundle": "/ca@1.pem"},
            "retries": {"max_attempts": 3},
        },
    }
    before = copy.deepcopy(table)
    assert scrub_client_urls(table) == {
        "endpoint_url": "http://h:9000",
        "profile_name": "me@corp",
        "config": {
            "proxies": {"https": "http://proxy:3128", "http": "${PROXY}"},
            "proxies.http": "proxy:3128",
            "proxies_config": {"proxy_ca_bundle": "/ca@1.pem"},
            "retries": {"max_attempts": 3},
        },
    }
    assert table == before  # a copy: the input is not changed
    assert scrub_client_urls({"region_name": "x"}) == {"region_name": "x"}


def test_to_json_without_passwords_drops_url_credentials() -> None:
    # The endpoint is never contacted: making the filesystem makes no request.
    config = {
        "clients": {
            "s3": {
                "endpoint_url": "http://user:pa55word@127.0.0.1:9/",
                "region_name": "us-east-1",
                "config": {
                    "proxies": {"https": "http://proxyuser:pr0xy-pw@10.0.0.1:3128"},
                    "proxies.http": "bareuser:bare-pw@10.0.0.2:3128",
                },
            },
        },
        "mapping": [{"bucket_name": "*", "client": "s3"}],
    }
    fs = fsspec.filesystem("botwo", config=copy.deepcopy(config))
    hidden = fs.to_json(include_password=False)
    for secret in ("pa55word", "user:", "user@", "proxyuser", "pr0xy-pw", "bareuser", "bare-pw"):
        assert secret not in hidden
    client = json.loads(hidden)["config"]["clients"]["s3"]
    assert client["endpoint_url"] == "http://127.0.0.1:9/"
    assert client["config"] == {
        "proxies": {"https": "http://10.0.0.1:3128"},
        "proxies.http": "10.0.0.2:3128",
    }
    assert json.loads(fs.to_json())["config"] == config  # fsspec's default: as configured


def test_botwo_check_masks_endpoint_and_proxy_passwords() -> None:
    settings = botwo.load_config(
        {
            "clients": {
                "a": {
                    "endpoint_url": "http://u:end%40pw@h:9000",
                    "aws_secret_access_key": "the-secret",
                    "config": {"proxies.https": "p:proxy-pw@10.0.0.1:3128"},
                },
            },
            "mapping": [{"bucket_name": "*", "client": "a"}],
        }
    )
    secrets = _check._secrets(settings)
    assert {"the-secret", "end%40pw", "end@pw", "proxy-pw"} <= set(secrets)
    shown = redact("proxy p:proxy-pw@10.0.0.1 refused; key the-secret", secrets)
    assert shown == f"proxy p:{MASK}@10.0.0.1 refused; key {MASK}"
