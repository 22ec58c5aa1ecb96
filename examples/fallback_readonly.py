"""Fallback reads and read-only routes.

Two patterns, on two servers (``_servers.py`` calls them ``s3`` and ``lakefs``; here
they play an old store and a new one):

* **A read-through fallback to the store being migrated from.** Bucket ``media`` is
  moving from the old store to the new one, under the same bucket name and keys. Its
  rule sends every call to the new store and, with ``"fallback": ["old"]``, reads that
  the new store cannot serve (``NoSuchKey``, ``NoSuchBucket``...) to the old one. Writes
  go to the new store only: an object not yet copied is still readable, a rewritten one
  is the new copy, and deleting the new copy shows the old one again.
* **A read-only mount of a shared dataset.** Bucket ``reference`` is a pinned version
  of a dataset (``datasets/v1/...`` on the new store). With ``"readonly": true`` every
  call that would change it fails with ``botwo.ReadOnlyError`` before anything is sent:
  a ``ClientError`` with code ``AccessDenied``, as S3 says to a caller that may only
  read. Reads work as usual.

Run: ``python examples/fallback_readonly.py`` (see ``_servers.py`` for the endpoints).
"""

from __future__ import annotations

import urllib.request

import botocore.exceptions

import botwo

from _servers import ensure_bucket, two_backends

MAPPING = [
    {"bucket_name": "media", "client": "new", "fallback": ["old"]},
    {
        "bucket_name": "reference",
        "mapped_bucket_name": "datasets",
        "key_prefix": "v1/",
        "client": "new",
        "readonly": True,
    },
    {"bucket_name": "*", "client": "old"},
]


def read(s3: botwo.RoutingClient, bucket: str, key: str) -> bytes:
    data: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return data


def main() -> None:
    with two_backends() as (old, new):
        ensure_bucket(old, "media")
        ensure_bucket(new, "media")
        ensure_bucket(new, "datasets")
        # Before the migration: the old store has everything.
        old.put_object(Bucket="media", Key="logo.png", Body=b"old logo")
        old.put_object(Bucket="media", Key="intro.mp4", Body=b"old intro")
        new.put_object(Bucket="datasets", Key="v1/cities.csv", Body=b"city,country\nLyon,FR\n")
        s3 = botwo.client({"old": old, "new": new}, MAPPING)

        # 1. Reads fall through to the old store; writes land in the new one.
        assert read(s3, "media", "logo.png") == b"old logo"
        s3.put_object(Bucket="media", Key="logo.png", Body=b"new logo")
        assert read(s3, "media", "logo.png") == b"new logo"
        assert new.get_object(Bucket="media", Key="logo.png")["Body"].read() == b"new logo"
        assert old.get_object(Bucket="media", Key="logo.png")["Body"].read() == b"old logo"
        print("media/logo.png after a put:", read(s3, "media", "logo.png"))

        # Deleting deletes the new copy only: the old one shows through again.
        s3.delete_object(Bucket="media", Key="logo.png")
        assert read(s3, "media", "logo.png") == b"old logo"
        print("media/logo.png after a delete:", read(s3, "media", "logo.png"))

        # Missing everywhere: the new store's NoSuchKey, in the caller's names.
        try:
            s3.get_object(Bucket="media", Key="missing.gif")
        except s3.exceptions.NoSuchKey as err:
            assert err.botwo_route.client == "new"
            print("missing everywhere:", err.response["Error"]["Code"], err.response["Error"]["Key"])
        else:
            raise AssertionError("expected NoSuchKey")

        # A presigned GET is signed by the store that has the object.
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "media", "Key": "intro.mp4"})
        assert url.startswith(old.meta.endpoint_url)
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.read() == b"old intro"
        print("presigned GET of media/intro.mp4 points at the old store")

        # 2. The read-only dataset: reads work, writes are refused before anything is sent.
        assert read(s3, "reference", "cities.csv").startswith(b"city,country")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="reference")["Contents"]]
        assert keys == ["cities.csv"]
        print("reference:", keys)
        try:
            s3.put_object(Bucket="reference", Key="cities.csv", Body=b"overwritten")
        except botocore.exceptions.ClientError as err:  # the usual clause for a denied write
            assert isinstance(err, botwo.ReadOnlyError)
            assert err.response["Error"]["Code"] == "AccessDenied"
            assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 403
            print("put_object on reference:", err.response["Error"]["Code"])
        else:
            raise AssertionError("a write to a read-only route must be refused")
        for refused in (
            lambda: s3.delete_object(Bucket="reference", Key="cities.csv"),
            lambda: s3.copy_object(Bucket="reference", Key="copy.csv", CopySource="reference/cities.csv"),
            lambda: s3.delete_bucket(Bucket="reference"),
            lambda: s3.generate_presigned_post("reference", "uploads/${filename}"),
        ):
            try:
                refused()
            except botwo.ReadOnlyError as err:
                print(f"  {err.operation_name}: refused")
            else:
                raise AssertionError("expected ReadOnlyError")
        body = new.get_object(Bucket="datasets", Key="v1/cities.csv")["Body"].read()
        assert body == b"city,country\nLyon,FR\n"  # untouched

        # A copy out of the read-only dataset into a writable bucket works.
        s3.copy_object(Bucket="media", Key="cities.csv", CopySource="reference/cities.csv")
        assert read(s3, "media", "cities.csv") == body
        print("copied reference/cities.csv to media/cities.csv")


if __name__ == "__main__":
    main()
