"""What a notebook user sees: ``repr``, ``_repr_html_``, ``route()`` and the ``botwo`` logger,
none of which ever shows a secret."""

from __future__ import annotations

import html.parser
import logging
from typing import Any

import pytest

import botwo
from botwo import RouteDecision, Rule

MAPPING = [
    {
        "bucket_name": "example-old-bucket",
        "mapped_bucket_name": "example-repo",
        "client": "lakefs",
        "key_prefix": "main/",
    },
    {
        "bucket_name": "data",
        "prefix": "raw/",
        "strip_prefix": True,
        "client": "lakefs",
        "key_prefix": "main/",
        "fallback": ["s3"],
    },
    {"bucket_name": "archive-*", "client": "lakefs", "readonly": True},
    {"bucket_name": "*", "client": "s3"},
]


@pytest.fixture
def configured(servers: dict[str, Any], backends: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("S3_SECRET", servers["s3"].secret_key)
    monkeypatch.setenv("LAKE_SECRET", servers["lake"].secret_key)
    for bucket in ("example-repo", "data"):
        backends["lake"].create_bucket(Bucket=bucket)
    backends["s3"].create_bucket(Bucket="data")
    config = {
        "clients": {
            "s3": servers["s3"].client_config(aws_secret_access_key="${S3_SECRET}"),
            "lakefs": servers["lake"].client_config(aws_secret_access_key="${LAKE_SECRET}"),
        },
        "mapping": MAPPING,
    }
    return botwo.client("s3", config=config)


def _secrets(servers: dict[str, Any]) -> list[str]:
    return [s.secret_key for s in servers.values()]


def test_route_returns_the_decision(configured: Any) -> None:
    s3 = configured
    decision = s3.route("example-old-bucket", "test/object.txt")
    assert decision == RouteDecision(
        bucket="example-old-bucket",
        key="test/object.txt",
        rule_index=0,
        rule=Rule(**MAPPING[0]),
        client="lakefs",
        target_bucket="example-repo",
        target_key="main/test/object.txt",
    )
    assert str(decision) == (
        "s3://example-old-bucket/test/object.txt -> client 'lakefs' "
        "s3://example-repo/main/test/object.txt (rule 0)"
    )
    raw = s3.route("data", "raw/2024/x.csv")
    assert (raw.rule_index, raw.target_key, raw.fallback) == (1, "main/2024/x.csv", ("s3",))
    assert "falls back to s3" in str(raw)
    assert s3.route("data", "clean/x.csv").client == "s3"
    bucket_only = s3.route("data")  # head_bucket & co: the first rule without a prefix
    assert (bucket_only.rule_index, bucket_only.key, bucket_only.target_key) == (3, None, None)
    assert bucket_only.target_url == "s3://data"
    archive = s3.route("archive-2020", "k")
    assert archive.readonly and str(archive).endswith("(rule 2, read-only)")
    with pytest.raises(TypeError):
        s3.route(3, "k")


def test_the_route_is_where_the_call_goes(configured: Any, backends: dict[str, Any]) -> None:
    s3 = configured
    for bucket, key in [("example-old-bucket", "a/b"), ("data", "raw/x"), ("data", "y")]:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
        decision = s3.route(bucket, key)
        backend = backends["lake" if decision.client == "lakefs" else "s3"]
        assert (
            backend.head_object(Bucket=decision.target_bucket, Key=decision.target_key)["ContentLength"] == 1
        )


def test_repr_shows_the_rules_and_no_secret(configured: Any, servers: dict[str, Any]) -> None:
    text = repr(configured)
    lines = text.splitlines()
    assert lines[0] == "<botwo S3 client, config <dict>: 4 rules over 2 clients"
    assert "example-old-bucket" in lines[3] and "example-repo/main/" in lines[3]
    assert "fallback: s3" in lines[4] and "(prefix stripped)" in lines[4]
    assert "read-only" in lines[5]
    assert servers["lake"].endpoint_url in text
    assert "secret from $LAKE_SECRET" in text
    for secret in _secrets(servers):
        assert secret not in text
    assert text.endswith(">")


class _Tables(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_repr_html_is_a_table_of_rules(configured: Any, servers: dict[str, Any]) -> None:
    page = configured._repr_html_()
    parser = _Tables()
    parser.feed(page)
    rules, clients = parser.tables
    assert rules[0] == ["#", "bucket_name", "prefix", "client", "target", "options"]
    assert [row[1] for row in rules[1:]] == [r["bucket_name"] for r in MAPPING]
    assert rules[2][4] == "data/main/(prefix stripped)"
    assert [row[0] for row in clients[1:]] == ["s3", "lakefs"]
    for secret in _secrets(servers):
        assert secret not in page


def test_repr_html_escapes_names(backends: dict[str, Any]) -> None:
    s3 = botwo.client(
        {"s3": backends["s3"]},
        [{"bucket_name": "<b>*", "client": "s3"}, {"bucket_name": "*", "client": "s3"}],
    )
    page = s3._repr_html_()
    assert "<b>*" not in page and "&lt;b&gt;*" in page


def test_routing_decisions_are_logged_at_debug(
    configured: Any, servers: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    s3 = configured
    sse_key = "K" * 32
    with caplog.at_level(logging.DEBUG, logger="botwo"):
        s3.put_object(
            Bucket="example-old-bucket",
            Key="k",
            Body=b"x",
            SSECustomerAlgorithm="AES256",
            SSECustomerKey=sse_key,
        )
        s3.list_objects_v2(Bucket="data")
    messages = [r.getMessage() for r in caplog.records if r.name == "botwo"]
    assert messages == [
        "put_object(Bucket='example-old-bucket', Key='k') -> client 'lakefs' rule 0: "
        "Bucket='example-repo', Key='main/k'",
        "list_objects_v2(Bucket='data') -> client 's3' rule 3 (merged listing over several routes): "
        "names unchanged",
    ]
    for record in caplog.records:
        for secret in [*_secrets(servers), sse_key]:
            assert secret not in record.getMessage()


def test_nothing_is_logged_above_debug(configured: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="botwo"):
        configured.put_object(Bucket="data", Key="x", Body=b"x")
    assert [r for r in caplog.records if r.name == "botwo"] == []
