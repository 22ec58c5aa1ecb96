"""Move part of a bucket to lakeFS: rules with ``prefix`` and ``strip_prefix``.

Bucket ``data`` stays on S3, except two prefixes:

* ``raw/`` moved to the repository ``raw-repo`` with ``strip_prefix``: the caller's
  ``data/raw/x.csv`` is ``raw-repo/main/x.csv`` in lakeFS;
* ``curated/`` moved to the repository ``curated-repo`` as is: ``data/curated/y.csv``
  is ``curated-repo/main/curated/y.csv``.

The caller keeps using ``data/raw/...`` and ``data/curated/...``. A listing of the whole
bucket lists both backends and merges them, as one S3 would list the bucket.

Run: ``python examples/partial_move.py`` (see ``_servers.py`` for the endpoints).
"""

from __future__ import annotations

from typing import Any

import botwo

from _servers import ensure_bucket, two_backends

MAPPING = [
    {
        "bucket_name": "data",
        "prefix": "raw/",
        "strip_prefix": True,
        "client": "lakefs",
        "mapped_bucket_name": "raw-repo",
        "key_prefix": "main/",
    },
    {
        "bucket_name": "data",
        "prefix": "curated/",
        "client": "lakefs",
        "mapped_bucket_name": "curated-repo",
        "key_prefix": "main/",
    },
    {"bucket_name": "*", "client": "s3"},
]


def keys(client: Any, bucket: str, prefix: str = "") -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def main() -> None:
    with two_backends() as (aws, lakefs):
        ensure_bucket(aws, "data")
        ensure_bucket(lakefs, "raw-repo")
        ensure_bucket(lakefs, "curated-repo")
        s3 = botwo.client({"s3": aws, "lakefs": lakefs}, MAPPING)

        for key in ("raw/x.csv", "raw/2024/y.csv", "curated/y.csv", "reports/z.csv"):
            s3.put_object(Bucket="data", Key=key, Body=key.encode())

        # On the backends:
        assert keys(lakefs, "raw-repo", "main/") == ["main/2024/y.csv", "main/x.csv"]
        assert keys(lakefs, "curated-repo", "main/") == ["main/curated/y.csv"]
        assert "reports/z.csv" in keys(aws, "data")
        assert not keys(aws, "data", "raw/")

        # Through botwo, the caller's names:
        assert s3.get_object(Bucket="data", Key="raw/2024/y.csv")["Body"].read() == b"raw/2024/y.csv"
        assert keys(s3, "data", "raw/") == ["raw/2024/y.csv", "raw/x.csv"]
        assert keys(s3, "data", "raw/2") == ["raw/2024/y.csv"]
        assert keys(s3, "data", "curated/") == ["curated/y.csv"]
        assert "reports/z.csv" in keys(s3, "data", "reports/")

        top = s3.list_objects_v2(Bucket="data", Prefix="raw/", Delimiter="/")
        assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["raw/2024/"]
        assert [o["Key"] for o in top["Contents"]] == ["raw/x.csv"]

        # A key matches a rule's prefix as a plain string: "raw" (no slash) stays on S3.
        s3.put_object(Bucket="data", Key="raw", Body=b"")
        assert "raw" in keys(aws, "data", "raw")

        # One listing spans S3 and lakeFS: the backends are listed and merged, in order.
        whole = s3.list_objects_v2(Bucket="data", Delimiter="/")
        assert [p["Prefix"] for p in whole["CommonPrefixes"]] == ["curated/", "raw/", "reports/"]
        assert [o["Key"] for o in whole["Contents"]] == ["raw"]
        everything = keys(s3, "data", "")
        assert (
            everything == sorted(everything) and "raw/x.csv" in everything and "reports/z.csv" in everything
        )
        print("one listing of data:", everything)

        # A call on the bucket itself (no key) goes to the rule without a prefix: S3.
        assert s3.head_bucket(Bucket="data")["ResponseMetadata"]["HTTPStatusCode"] == 200
        print("data/raw/x.csv -> lakefs: raw-repo/main/x.csv")
        print("data/curated/y.csv -> lakefs: curated-repo/main/curated/y.csv")
        print("data/reports/z.csv -> s3: data/reports/z.csv")


if __name__ == "__main__":
    main()
