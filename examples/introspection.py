"""Looking inside a botwo client from a notebook or a debugger: where does a call go?

* ``print(s3)``: the rule table in matching order and the clients (endpoint, region,
  where the credentials come from), never a secret, even one written in the config;
* ``s3._repr_html_()``: the same as HTML tables, which Jupyter shows for ``s3`` alone in
  a cell;
* ``s3.route(bucket, key)``: which rule, client, target bucket and target key a call on
  that object would use, without sending anything; ``s3.route(bucket)`` for calls that
  name only the bucket (``head_bucket``, bucket configuration);
* the ``botwo`` logger: at DEBUG, one line per call, the caller's names and the
  target's, while boto3's own loggers stay quiet.

Run: ``python examples/introspection.py`` (see ``_servers.py`` for the endpoints).
"""

from __future__ import annotations

import logging
import os
import tempfile
from typing import Any

import botwo

from _servers import ensure_bucket, two_endpoints

# The rules as a table, first match wins ("": not set). A rule's prefix is stripped.
FIELDS = ("bucket_name", "prefix", "client", "mapped_bucket_name", "key_prefix", "readonly")
RULES = [
    ("example-old-bucket", "", "lakefs", "example-repo", "main/", False),
    ("data", "raw/", "lakefs", "raw-repo", "main/", False),
    ("archive-*", "", "lakefs", "", "", True),
    ("*", "", "s3", "", "", False),
]


def mapping() -> list[dict[str, Any]]:
    """The table as botwo's rule dicts."""
    out = []
    for row in RULES:
        rule = dict(zip(FIELDS, row, strict=True), strip_prefix=bool(row[1]))
        out.append({field: value for field, value in rule.items() if value})
    return out


class Lines(logging.Handler):
    """Keeps the formatted log lines."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def main() -> None:
    with two_endpoints() as (s3_endpoint, lakefs_endpoint):
        path_style = {"s3": {"addressing_style": "path"}}
        # The secrets are written into this config on purpose: botwo still never shows them.
        config = {
            "clients": {
                "s3": {**s3_endpoint, "config": path_style},
                "lakefs": {**lakefs_endpoint, "config": path_style},
            },
            "mapping": mapping(),
        }
        secret_keys = [e["aws_secret_access_key"] for e in (s3_endpoint, lakefs_endpoint)]
        secret_keys = [s for s in secret_keys if s]
        s3 = botwo.client("s3", config=config)
        ensure_bucket(s3.backends["lakefs"], "example-repo")
        ensure_bucket(s3.backends["lakefs"], "raw-repo")
        ensure_bucket(s3.backends["s3"], "data")

        # 1. print(s3): the rules, first match wins, and the clients.
        text = repr(s3)
        print(text)
        assert text.startswith("<botwo S3 client, config <dict>: 4 rules over 2 clients")
        for bucket, *_ in RULES:
            assert bucket in text
        assert "read-only" in text and "(prefix stripped)" in text
        assert lakefs_endpoint["endpoint_url"] in text
        assert not any(secret in text for secret in secret_keys)

        # 2. What Jupyter shows for s3 in a cell.
        page = s3._repr_html_()
        assert page.count("<table>") == 2
        for bucket, _, _, target, _, _ in RULES:
            assert f"<code>{bucket}</code>" in page
            assert target in page
        assert not any(secret in page for secret in secret_keys)
        fd, html_path = tempfile.mkstemp(prefix="botwo-client-", suffix=".html")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(f"<!doctype html><meta charset='utf-8'><title>botwo</title>{page}\n")
        print("the same as HTML:", html_path)

        # 3. s3.route(bucket, key): where a call would go. Nothing is sent; a put then
        # lands exactly there.
        for bucket, key in [
            ("example-old-bucket", "test/object.txt"),
            ("data", "raw/2024/x.csv"),
            ("data", "reports/q1.csv"),
            ("data", "raw"),  # "raw" does not start with "raw/": S3's
        ]:
            decision = s3.route(bucket, key)
            print(decision)
            s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
            backend = s3.backends[decision.client]
            landed = backend.get_object(Bucket=decision.target_bucket, Key=decision.target_key)
            assert landed["Body"].read() == key.encode()
        assert s3.route("data", "raw/2024/x.csv").target_url == "s3://raw-repo/main/2024/x.csv"
        assert s3.route("data", "raw").client == "s3"

        archive = s3.route("archive-2020", "old.csv")
        assert archive.readonly and archive.client == "lakefs"
        print(archive)

        # s3.route(bucket): where calls that name only the bucket go, the first rule
        # without a prefix: head_bucket(Bucket="data") is S3's, even though data/raw/ is not.
        for bucket, client, target in [
            ("data", "s3", "data"),
            ("example-old-bucket", "lakefs", "example-repo"),
        ]:
            decision = s3.route(bucket)
            assert (decision.client, decision.target_bucket, decision.key) == (client, target, None)
            print(f"{bucket}: bucket-level calls ->", decision)
            s3.head_bucket(Bucket=bucket)

        # 4. The botwo logger: one DEBUG line per call (here on stderr); boto3 and botocore
        # stay at WARNING. A handler of our own keeps the lines to check them.
        print("four calls with the botwo logger at DEBUG:")
        logging.basicConfig(level=logging.WARNING)
        logger = logging.getLogger("botwo")
        logger.setLevel(logging.DEBUG)
        captured = Lines()
        logger.addHandler(captured)
        try:
            s3.put_object(Bucket="example-old-bucket", Key="logged.txt", Body=b"x")
            s3.get_object(Bucket="data", Key="raw/2024/x.csv")["Body"].read()
            s3.head_bucket(Bucket="data")
            s3.list_objects_v2(Bucket="data")
        finally:
            logger.removeHandler(captured)
            logger.setLevel(logging.NOTSET)
        put, get, head, listing = captured.lines
        assert put.startswith("put_object(Bucket='example-old-bucket', Key='logged.txt') -> client 'lakefs'")
        assert "Bucket='example-repo', Key='main/logged.txt'" in put
        assert "Key='raw/2024/x.csv'" in get and "client 'lakefs'" in get and "Key='main/2024/x.csv'" in get
        assert "head_bucket(Bucket='data') -> client 's3'" in head
        assert "merged listing" in listing
        assert not any(secret in line for secret in secret_keys for line in captured.lines)
        print(f"{len(captured.lines)} lines from botwo: caller's names -> client, rule, target's names")


if __name__ == "__main__":
    main()
