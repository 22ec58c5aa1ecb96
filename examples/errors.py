"""Errors through botwo: catch them as with boto3, see the caller's names in them.

* A backend's error (``NoSuchKey``, ``NoSuchBucket``...) is re-raised through the botwo
  client's own ``exceptions`` classes, so ``except s3.exceptions.NoSuchKey`` catches it
  whichever backend served the call, even though the backends' clients come from
  separate ``boto3.Session`` objects whose exception classes differ.
* The error names the caller's bucket and key, not the target's. The backend's original
  error is chained as ``__cause__``; ``err.botwo_route`` says which rule and client
  served the call.
* botwo's own errors (``botwo.CrossRouteError``, ``botwo.RoutingError``,
  ``botwo.RuleError``) are raised before anything is sent.

Run: ``python examples/errors.py`` (see ``_servers.py`` for the endpoints).
"""

from __future__ import annotations

import botocore.exceptions

import botwo

from _servers import ensure_bucket, two_backends

MAPPING = [
    {
        "bucket_name": "example-old-bucket",
        "mapped_bucket_name": "example-repo",
        "client": "lakefs",
        "key_prefix": "main/",
    },
    {"bucket_name": "*", "client": "s3"},
]


def main() -> None:
    with two_backends() as (aws, lakefs):
        ensure_bucket(aws, "test-bucket")
        ensure_bucket(lakefs, "example-repo")
        assert aws.exceptions.NoSuchKey is not lakefs.exceptions.NoSuchKey  # two sessions
        s3 = botwo.client({"s3": aws, "lakefs": lakefs}, MAPPING)

        # One except clause for both backends.
        for bucket in ("test-bucket", "example-old-bucket"):
            try:
                s3.get_object(Bucket=bucket, Key="missing/file.txt")
            except s3.exceptions.NoSuchKey as err:
                print(f"{bucket}: {err}  [{err.botwo_route.describe()}]")
                assert err.response["Error"]["Code"] == "NoSuchKey"
            else:
                raise AssertionError("expected NoSuchKey")

        # The caller's names in the error; the target's in the chained original.
        try:
            s3.get_object(Bucket="example-old-bucket", Key="missing/file.txt")
        except botocore.exceptions.ClientError as err:
            assert isinstance(err, s3.exceptions.NoSuchKey)
            assert not isinstance(err, lakefs.exceptions.NoSuchKey)  # not the backend's class
            assert err.response["Error"]["Key"] == "missing/file.txt"
            assert "main/" not in str(err)
            original = err.__cause__
            assert isinstance(original, lakefs.exceptions.NoSuchKey)
            print("original error:", original.response["Error"])
            assert err.botwo_route.client == "lakefs"
            assert err.botwo_route.target_bucket == "example-repo"
            print("note:", err.__notes__[0])
        else:
            raise AssertionError("expected NoSuchKey")

        # A bucket error: the caller's bucket name, not the repository's.
        renamed = botwo.client(
            {"s3": aws, "lakefs": lakefs},
            [
                {"bucket_name": "gone", "mapped_bucket_name": "no-such-repo", "client": "lakefs"},
                {"bucket_name": "*", "client": "s3"},
            ],
        )
        try:
            renamed.list_objects_v2(Bucket="gone")
        except renamed.exceptions.NoSuchBucket as err:
            assert "no-such-repo" not in str(err.response["Error"])
            print("ListObjectsV2 on a missing bucket:", err.response["Error"])
        else:
            raise AssertionError("expected NoSuchBucket")

        # Parameter errors are botocore's, as with boto3.
        try:
            s3.get_object(Bucket="test-bucket")
        except botocore.exceptions.ParamValidationError as err:
            print("ParamValidationError:", str(err).splitlines()[-1])
        else:
            raise AssertionError("expected ParamValidationError")

        # A copy from lakeFS to S3 of a key that does not exist: your names in the error.
        try:
            s3.copy_object(Bucket="test-bucket", Key="a.txt", CopySource="example-old-bucket/missing.txt")
        except s3.exceptions.NoSuchKey as err:
            assert err.response["Error"]["Key"] == "missing.txt", err.response
            print("cross-backend copy:", err.response["Error"])
        else:
            raise AssertionError("expected NoSuchKey")

        # botwo's own errors: nothing is sent.
        try:
            s3.put_bucket_lifecycle_configuration(
                Bucket="example-old-bucket",
                LifecycleConfiguration={
                    "Rules": [
                        {
                            "ID": "tmp",
                            "Status": "Enabled",
                            "Filter": {"Prefix": "tmp/"},
                            "Expiration": {"Days": 1},
                        }
                    ]
                },
            )
        except botwo.RoutingError as err:
            print("RoutingError:", err)
        else:
            raise AssertionError("a lifecycle configuration through a renaming route must be refused")
        try:
            botwo.client(
                {"s3": aws},
                [
                    {"bucket_name": "b", "client": "s3", "keyprefix": "x/"},
                    {"bucket_name": "*", "client": "s3"},
                ],
            )
        except botwo.RuleError as err:
            assert (err.index, err.field) == (0, "keyprefix")
            print("RuleError:", err)
        else:
            raise AssertionError("expected RuleError")


if __name__ == "__main__":
    main()
