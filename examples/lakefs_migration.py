"""Move two buckets to lakeFS without touching the code that uses them.

The mapping is the one from the botwo design:

* bucket ``bucket-a`` now lives in the lakeFS repository ``bucket-a``, on branch ``dev``;
* bucket ``example-old-bucket`` became the repository ``example-repo``, branch ``main``;
* every other bucket stays on S3.

``existing_code`` below is ordinary boto3 code. It runs unchanged against the botwo
client: only the line that builds ``s3`` changed. The end of the script looks at each
backend directly to show where every object really landed.

Run: ``python examples/lakefs_migration.py`` (see ``_servers.py`` for the endpoints).
"""

from __future__ import annotations

from typing import Any

import botwo

from _servers import ensure_bucket, two_backends

MAPPING = [
    {"bucket_name": "bucket-a", "client": "lakefs", "key_prefix": "dev/"},
    {
        "bucket_name": "example-old-bucket",
        "mapped_bucket_name": "example-repo",
        "client": "lakefs",
        "key_prefix": "main/",
    },
    {"bucket_name": "*", "client": "s3"},  # the default: everything else stays on S3
]


def existing_code(s3: Any) -> None:
    """Code written for ``boto3.client("s3")``; it does not know about lakeFS."""
    for bucket in ("test-bucket", "bucket-a", "example-old-bucket"):
        s3.put_object(Bucket=bucket, Key="test/object.txt", Body=f"hello from {bucket}".encode())

    body = s3.get_object(Bucket="example-old-bucket", Key="test/object.txt")["Body"].read()
    assert body == b"hello from example-old-bucket"

    listing = s3.list_objects_v2(Bucket="example-old-bucket", Prefix="test/")
    assert listing["Name"] == "example-old-bucket"
    assert [o["Key"] for o in listing["Contents"]] == ["test/object.txt"]

    s3.copy_object(
        Bucket="example-old-bucket", Key="test/copy.txt", CopySource="example-old-bucket/test/object.txt"
    )
    s3.head_object(Bucket="example-old-bucket", Key="test/copy.txt")
    s3.delete_object(Bucket="example-old-bucket", Key="test/copy.txt")


def main() -> None:
    with two_backends() as (aws, lakefs):
        # The buckets (and lakeFS repositories) exist on their backends beforehand.
        ensure_bucket(aws, "test-bucket")
        ensure_bucket(lakefs, "bucket-a")
        ensure_bucket(lakefs, "example-repo")

        # Before: s3 = boto3.client("s3")
        s3 = botwo.client({"s3": aws, "lakefs": lakefs}, MAPPING)

        existing_code(s3)

        # Where the objects really are, seen through the plain boto3 clients:
        def keys(client: Any, bucket: str) -> list[str]:
            return [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]

        assert "test/object.txt" in keys(aws, "test-bucket")
        assert "dev/test/object.txt" in keys(lakefs, "bucket-a")
        assert "main/test/object.txt" in keys(lakefs, "example-repo")
        assert "main/test/copy.txt" not in keys(lakefs, "example-repo")
        for bucket, target in [
            ("test-bucket", "s3: test-bucket/test/object.txt"),
            ("bucket-a", "lakefs: bucket-a/dev/test/object.txt"),
            ("example-old-bucket", "lakefs: example-repo/main/test/object.txt"),
        ]:
            print(f"{bucket}/test/object.txt -> {target}")


if __name__ == "__main__":
    main()
