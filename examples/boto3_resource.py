"""boto3's resource API over botwo: ``botwo.resource(clients, mapping)``.

Code written against ``boto3.resource("s3")`` (``Bucket``, ``Object``, collections,
``upload_file``, waiters) runs unchanged on the object ``botwo.resource`` returns: it is
boto3's own S3 resource, whose client is a botwo routing client, so every request it
makes is routed by the rules. Here:

* ``example-old-bucket`` moved to lakeFS, repository ``example-repo``, branch ``main``;
* ``data/raw/`` moved to lakeFS, repository ``raw-repo`` (``strip_prefix``);
* everything else stays on S3.

Run: ``python examples/boto3_resource.py`` (see ``_servers.py`` for the endpoints).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import botwo

from _servers import ensure_bucket, two_backends

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
        "mapped_bucket_name": "raw-repo",
        "key_prefix": "main/",
    },
    {"bucket_name": "*", "client": "s3"},
]


def keys(client: Any, bucket: str) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def main() -> None:
    with two_backends() as (aws, lakefs):
        ensure_bucket(aws, "data")
        ensure_bucket(lakefs, "example-repo")
        ensure_bucket(lakefs, "raw-repo")
        s3 = botwo.resource({"s3": aws, "lakefs": lakefs}, MAPPING)
        assert s3.meta.client.rules[0].mapped_bucket_name == "example-repo"

        # Objects: the caller's bucket and key; lakeFS holds example-repo/main/...
        obj = s3.Object("example-old-bucket", "test/object.txt")
        obj.put(Body=b"hello", Metadata={"team": "ml"})
        assert obj.get()["Body"].read() == b"hello"
        assert (obj.content_length, obj.metadata) == (5, {"team": "ml"})  # a routed HEAD
        assert keys(lakefs, "example-repo") == ["main/test/object.txt"]
        print("Object('example-old-bucket', 'test/object.txt') -> lakefs: example-repo/main/test/object.txt")

        # A bucket split over two backends lists as one bucket.
        data = s3.Bucket("data")
        for key in ("raw/x.csv", "raw/2024/y.csv", "reports/z.csv", "a.txt"):
            data.put_object(Key=key, Body=key.encode())
        assert [o.key for o in data.objects.all()] == [
            "a.txt",
            "raw/2024/y.csv",
            "raw/x.csv",
            "reports/z.csv",
        ]
        assert [o.key for o in data.objects.filter(Prefix="r")] == [
            "raw/2024/y.csv",
            "raw/x.csv",
            "reports/z.csv",
        ]
        assert keys(lakefs, "raw-repo") == ["main/2024/y.csv", "main/x.csv"]
        assert keys(aws, "data") == ["a.txt", "reports/z.csv"]
        print("Bucket('data').objects:", [o.key for o in data.objects.all()])

        # Managed transfers, and a copy from lakeFS to S3 (streamed by botwo).
        with tempfile.TemporaryDirectory() as tmp:
            source, back = Path(tmp, "model.bin"), Path(tmp, "back.bin")
            source.write_bytes(b"weights" * 1000)
            s3.Bucket("example-old-bucket").upload_file(str(source), "models/model.bin")
            s3.Object("data", "models/model.bin").copy_from(
                CopySource={"Bucket": "example-old-bucket", "Key": "models/model.bin"}
            )
            s3.Object("data", "models/model.bin").download_file(str(back))
            assert back.read_bytes() == source.read_bytes()
        assert "main/models/model.bin" in keys(lakefs, "example-repo")
        assert "models/model.bin" in keys(aws, "data")

        # A batch action: one bulk delete per page, sent to each backend that holds keys.
        data.objects.filter(Prefix="r").delete()
        assert [o.key for o in data.objects.all()] == ["a.txt", "models/model.bin"]
        assert keys(lakefs, "raw-repo") == []

        # Waiters poll through botwo (head_bucket on lakeFS's example-repo).
        s3.Bucket("example-old-bucket").wait_until_exists()
        obj.wait_until_exists()

        # Errors keep the caller's names.
        try:
            s3.Object("example-old-bucket", "missing.txt").get()
        except s3.meta.client.exceptions.NoSuchKey as err:
            assert err.response["Error"]["Key"] == "missing.txt"
            print("NoSuchKey:", err.response["Error"]["Key"])
        else:
            raise AssertionError("expected NoSuchKey")

        # The bucket list: the caller's buckets over both backends.
        names = [b.name for b in s3.buckets.all()]
        assert {"data", "example-old-bucket"} <= set(names) and "example-repo" not in names
        print("buckets:", names)


if __name__ == "__main__":
    main()
