"""Read-only routes: every mutating call through a ``readonly`` rule is refused, unsent.

The refusal is ``botwo.ReadOnlyError``: botwo's own error, and also botocore's
``ClientError`` with code ``AccessDenied`` and HTTP status 403, which is what one S3
says to a caller that may read a bucket but not write it. Reads through the same rule
are served as usual. Each test checks the backends directly: a ``before-send`` handler on
every underlying client records what was really sent, and the objects are still there.
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

import botwo
from botwo import BotwoError, ReadOnlyError
from botwo._operations import Kind, operation_table

from .recorder import Sent

MAPPING: list[dict[str, Any]] = [
    # A read-only mount of a shared dataset, renamed on the target (a lakeFS tag or commit).
    {
        "bucket_name": "dataset",
        "mapped_bucket_name": "datasets",
        "key_prefix": "v1/",
        "client": "lake",
        "readonly": True,
    },
    # A whole bucket read-only under its own name.
    {"bucket_name": "shared", "client": "lake", "readonly": True},
    # Part of a bucket read-only: data/ref/... ; the rest of data is writable on s3.
    {
        "bucket_name": "data",
        "prefix": "ref/",
        "mapped_bucket_name": "ref",
        "client": "lake",
        "readonly": True,
    },
    # A writable bucket on the same client as the read-only ones.
    {"bucket_name": "scratch", "client": "lake"},
    {"bucket_name": "*", "client": "s3"},
]

# (caller bucket, caller key) of an object on each read-only route, and where it really is.
READONLY_OBJECTS = {
    ("dataset", "images/cat.jpg"): ("lake", "datasets", "v1/images/cat.jpg"),
    ("shared", "readme.txt"): ("lake", "shared", "readme.txt"),
    ("data", "ref/table.csv"): ("lake", "ref", "ref/table.csv"),
}
READONLY_BUCKETS = ("dataset", "shared")  # buckets whose bucket-level calls are read-only


def contents(backends: dict[str, Any]) -> dict[tuple[str, str], dict[str, str]]:
    """Every object of the s3 and lake servers: (server, bucket) -> {key: etag}."""
    out = {}
    for name in ("s3", "lake"):
        client = backends[name]
        for bucket in client.list_buckets()["Buckets"]:
            listed = client.list_objects_v2(Bucket=bucket["Name"]).get("Contents", [])
            out[(name, bucket["Name"])] = {o["Key"]: o["ETag"] for o in listed}
    return out


@pytest.fixture
def world(backends: dict[str, Any], servers: dict[str, Any]) -> Iterator[tuple[Any, Sent, dict[str, Any]]]:
    """The botwo client, the request recorder, and clients of their own for the servers.

    The recorder sees what botwo's underlying clients send; the checks go through the
    other clients, which it does not see.
    """
    lake, s3 = backends["lake"], backends["s3"]
    for bucket in ("datasets", "shared", "ref", "scratch"):
        lake.create_bucket(Bucket=bucket)
    s3.create_bucket(Bucket="data")
    for (_bucket, key), (server, target_bucket, target_key) in READONLY_OBJECTS.items():
        backends[server].put_object(Bucket=target_bucket, Key=target_key, Body=f"{key} v1".encode())
    s3.put_object(Bucket="data", Key="a.txt", Body=b"writable")
    client = botwo.client({"s3": s3, "lake": lake}, MAPPING)
    sent = Sent({"s3": s3, "lake": lake})
    yield client, sent, {name: server.client() for name, server in servers.items()}
    client.close()


@pytest.fixture
def bare(servers: dict[str, Any]) -> Iterator[tuple[Any, Sent]]:
    """The botwo client over fresh clients of the servers, unseeded: for calls that must
    send nothing (the recorder proves it), so no server state is needed."""
    clients = {"s3": servers["s3"].client(), "lake": servers["lake"].client()}
    client = botwo.client(clients, MAPPING)
    yield client, Sent(clients)
    client.close()


def assert_refused(call: Any, operation: str) -> ReadOnlyError:
    with pytest.raises(ReadOnlyError) as caught:
        call()
    err = caught.value
    assert err.operation_name == operation
    assert err.response["Error"]["Code"] == "AccessDenied"
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "read-only" in err.response["Error"]["Message"]
    return err


# -- the error -------------------------------------------------------------------------


def test_a_refused_write_is_access_denied_and_a_botwo_error(world: Any) -> None:
    s3, sent, backends = world
    before = contents(backends)
    with pytest.raises(s3.exceptions.ClientError) as caught:  # as code that handles denied writes
        s3.put_object(Bucket="dataset", Key="images/cat.jpg", Body=b"overwritten")
    err = caught.value
    assert isinstance(err, ReadOnlyError)
    assert isinstance(err, BotwoError) and isinstance(err, ClientError)
    assert err.response["Error"]["Code"] == "AccessDenied"
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert err.operation_name == "PutObject"
    # In the caller's names, with the rule that made it read-only; never the target's.
    message = err.response["Error"]["Message"]
    assert "dataset/images/cat.jpg" in message and "rule 0" in message and "readonly: true" in message
    assert "datasets" not in message and "v1/" not in message
    assert str(err).startswith("An error occurred (AccessDenied) when calling the PutObject operation: ")
    assert err.botwo_route.rule_index == 0 and err.botwo_route.readonly  # type: ignore[attr-defined]
    assert sent.requests == []
    assert contents(backends) == before


def test_a_read_only_error_pickles_as_itself(world: Any) -> None:
    s3, _, _ = world
    with pytest.raises(ReadOnlyError) as caught:
        s3.delete_object(Bucket="shared", Key="readme.txt")
    again = pickle.loads(pickle.dumps(caught.value))
    assert type(again) is ReadOnlyError
    assert (again.response, again.operation_name) == (caught.value.response, "DeleteObject")


@pytest.mark.parametrize(("bucket", "key"), list(READONLY_OBJECTS), ids=lambda v: str(v))
@pytest.mark.parametrize(
    ("method", "operation", "params"),
    [
        ("put_object", "PutObject", {"Body": b"new"}),
        ("delete_object", "DeleteObject", {}),
        ("put_object_tagging", "PutObjectTagging", {"Tagging": {"TagSet": [{"Key": "k", "Value": "v"}]}}),
        ("delete_object_tagging", "DeleteObjectTagging", {}),
        ("put_object_acl", "PutObjectAcl", {"ACL": "public-read"}),
        ("create_multipart_upload", "CreateMultipartUpload", {}),
        ("upload_part", "UploadPart", {"UploadId": "u", "PartNumber": 1, "Body": b"x"}),
        (
            "complete_multipart_upload",
            "CompleteMultipartUpload",
            {"UploadId": "u", "MultipartUpload": {"Parts": [{"ETag": '"e"', "PartNumber": 1}]}},
        ),
        ("abort_multipart_upload", "AbortMultipartUpload", {"UploadId": "u"}),
        ("restore_object", "RestoreObject", {"RestoreRequest": {"Days": 1}}),
    ],
)
def test_object_writes_are_refused_unsent(
    world: Any, bucket: str, key: str, method: str, operation: str, params: dict[str, Any]
) -> None:
    s3, sent, backends = world
    before = contents(backends)
    err = assert_refused(lambda: getattr(s3, method)(Bucket=bucket, Key=key, **params), operation)
    assert f"{bucket}/{key}" in err.response["Error"]["Message"]
    assert sent.requests == []
    assert contents(backends) == before
    server, target_bucket, target_key = READONLY_OBJECTS[(bucket, key)]
    body = backends[server].get_object(Bucket=target_bucket, Key=target_key)["Body"].read()
    assert body == f"{key} v1".encode()


def test_reads_through_a_read_only_route_work(world: Any) -> None:
    s3, sent, backends = world
    assert s3.get_object(Bucket="dataset", Key="images/cat.jpg")["Body"].read() == b"images/cat.jpg v1"
    assert s3.head_object(Bucket="shared", Key="readme.txt")["ContentLength"] == len(b"readme.txt v1")
    assert s3.get_object(Bucket="data", Key="ref/table.csv", Range="bytes=0-2")["Body"].read() == b"ref"
    assert s3.get_object_tagging(Bucket="dataset", Key="images/cat.jpg")["TagSet"] == []
    attributes = s3.get_object_attributes(Bucket="shared", Key="readme.txt", ObjectAttributes=["ObjectSize"])
    assert attributes["ObjectSize"] == len(b"readme.txt v1")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="dataset")["Contents"]] == ["images/cat.jpg"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="data", Prefix="ref/")["Contents"]] == [
        "ref/table.csv"
    ]
    s3.head_bucket(Bucket="dataset")
    assert s3.get_bucket_versioning(Bucket="shared")["ResponseMetadata"]["HTTPStatusCode"] == 200
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="shared", PaginationConfig={"PageSize": 1})
    assert [o["Key"] for page in pages for o in page.get("Contents", [])] == ["readme.txt"]
    s3.get_waiter("object_exists").wait(Bucket="dataset", Key="images/cat.jpg")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "dataset", "Key": "images/cat.jpg"})
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"images/cat.jpg v1"
    head = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "shared", "Key": "readme.txt"}, HttpMethod="HEAD"
    )
    with urllib.request.urlopen(urllib.request.Request(head, method="HEAD"), timeout=10) as response:
        assert response.status == 200
    # The writable rest of a partly read-only bucket is writable.
    s3.put_object(Bucket="data", Key="b.txt", Body=b"b")
    assert backends["s3"].get_object(Bucket="data", Key="b.txt")["Body"].read() == b"b"
    assert sent.requests  # the reads really went out


def test_bucket_writes_through_a_read_only_bucket_route_are_refused(world: Any) -> None:
    s3, sent, backends = world
    for bucket in READONLY_BUCKETS:
        assert_refused(lambda b=bucket: s3.create_bucket(Bucket=b), "CreateBucket")
        assert_refused(lambda b=bucket: s3.delete_bucket(Bucket=b), "DeleteBucket")
        assert_refused(
            lambda b=bucket: s3.put_bucket_versioning(
                Bucket=b, VersioningConfiguration={"Status": "Enabled"}
            ),
            "PutBucketVersioning",
        )
        assert_refused(
            lambda b=bucket: s3.put_bucket_tagging(
                Bucket=b, Tagging={"TagSet": [{"Key": "team", "Value": "x"}]}
            ),
            "PutBucketTagging",
        )
        assert_refused(lambda b=bucket: s3.delete_bucket_tagging(Bucket=b), "DeleteBucketTagging")
    assert sent.requests == []
    lake = backends["lake"]
    assert {b["Name"] for b in lake.list_buckets()["Buckets"]} >= {"datasets", "shared"}
    assert "Status" not in lake.get_bucket_versioning(Bucket="shared")
    # A bucket whose prefix-less rule is writable takes bucket-level writes, even when a
    # prefix of it is read-only: bucket calls go to the rule without a prefix.
    s3.put_bucket_tagging(Bucket="data", Tagging={"TagSet": [{"Key": "team", "Value": "x"}]})
    assert backends["s3"].get_bucket_tagging(Bucket="data")["TagSet"] == [{"Key": "team", "Value": "x"}]


# -- every mutating operation of the model ---------------------------------------------------


def _mutating_operations() -> list[tuple[str, str, Kind]]:
    model = boto3.client("s3", region_name="us-east-1").meta.service_model
    return sorted(
        (spec.method, spec.name, spec.kind)
        for spec in operation_table(model).values()
        # WriteGetObjectResponse names no bucket, so no rule: it is not routed by one.
        if spec.mutates and spec.kind is not Kind.NO_BUCKET
    )


MUTATING = _mutating_operations()


def _minimal_params(kind: Kind, bucket: str, key: str) -> dict[str, Any]:
    """Only the members botwo routes by: the refusal comes before botocore's validation."""
    if kind is Kind.BUCKET:
        return {"Bucket": bucket}
    if kind is Kind.OBJECT:
        return {"Bucket": bucket, "Key": key}
    if kind is Kind.COPY:
        return {"Bucket": bucket, "Key": key, "CopySource": "data/a.txt"}
    if kind is Kind.RENAME:
        return {"Bucket": bucket, "Key": key, "RenameSource": "scratch-elsewhere"}
    assert kind is Kind.DELETE_OBJECTS
    return {"Bucket": bucket, "Delete": {"Objects": [{"Key": key}]}}


def test_the_mutating_operations_cover_every_write_kind() -> None:
    kinds = {kind for _, _, kind in MUTATING}
    assert kinds == {Kind.OBJECT, Kind.BUCKET, Kind.COPY, Kind.RENAME, Kind.DELETE_OBJECTS}
    assert len(MUTATING) > 60


@pytest.mark.parametrize(("method", "operation", "kind"), MUTATING, ids=[m for m, _, _ in MUTATING])
def test_every_mutating_operation_is_refused_before_anything_is_sent(
    bare: Any, method: str, operation: str, kind: Kind
) -> None:
    s3, sent = bare
    targets = [(b, k) for b, k in READONLY_OBJECTS] if kind is not Kind.BUCKET else []
    targets += [(b, "k") for b in READONLY_BUCKETS] if kind is Kind.BUCKET else []
    for bucket, key in targets:
        params = _minimal_params(kind, bucket, key)
        # Neither the call nor a presigned URL for it: both are refused while routing,
        # before botocore validates the rest of the parameters.
        assert_refused(lambda p=params: getattr(s3, method)(**p), operation)
        assert_refused(lambda p=params: s3.generate_presigned_url(method, Params=p), operation)
    assert sent.requests == []


# -- copies, renames, bulk deletes -----------------------------------------------------------


def test_a_copy_into_a_read_only_route_is_refused_and_a_copy_out_of_one_works(world: Any) -> None:
    s3, sent, backends = world
    lake = backends["lake"]
    assert_refused(
        lambda: s3.copy_object(Bucket="shared", Key="copy.txt", CopySource="scratch/none"), "CopyObject"
    )
    upload = lake.create_multipart_upload(Bucket="shared", Key="big.bin")["UploadId"]
    sent.clear()
    assert_refused(
        lambda: s3.upload_part_copy(
            Bucket="shared", Key="big.bin", UploadId=upload, PartNumber=1, CopySource="shared/readme.txt"
        ),
        "UploadPartCopy",
    )
    assert sent.requests == []
    # Out of a read-only route into a writable one: a server-side copy on lake.
    s3.copy_object(Bucket="scratch", Key="cat.jpg", CopySource="dataset/images/cat.jpg")
    s3.copy_object(Bucket="scratch", Key="table.csv", CopySource={"Bucket": "data", "Key": "ref/table.csv"})
    assert lake.get_object(Bucket="scratch", Key="cat.jpg")["Body"].read() == b"images/cat.jpg v1"
    assert lake.get_object(Bucket="scratch", Key="table.csv")["Body"].read() == b"ref/table.csv v1"
    part_upload = s3.create_multipart_upload(Bucket="scratch", Key="joined")["UploadId"]
    part = s3.upload_part_copy(
        Bucket="scratch", Key="joined", UploadId=part_upload, PartNumber=1, CopySource="shared/readme.txt"
    )
    s3.complete_multipart_upload(
        Bucket="scratch",
        Key="joined",
        UploadId=part_upload,
        MultipartUpload={"Parts": [{"ETag": part["CopyPartResult"]["ETag"], "PartNumber": 1}]},
    )
    assert lake.get_object(Bucket="scratch", Key="joined")["Body"].read() == b"readme.txt v1"
    # The sources are untouched and the read-only upload is still open, unchanged.
    assert lake.get_object(Bucket="datasets", Key="v1/images/cat.jpg")["Body"].read() == b"images/cat.jpg v1"
    assert [u["UploadId"] for u in lake.list_multipart_uploads(Bucket="shared")["Uploads"]] == [upload]
    assert "Parts" not in lake.list_parts(Bucket="shared", Key="big.bin", UploadId=upload)
    # Listing the open uploads and their parts through the read-only route is a read.
    assert [u["Key"] for u in s3.list_multipart_uploads(Bucket="shared")["Uploads"]] == ["big.bin"]
    assert s3.list_parts(Bucket="shared", Key="big.bin", UploadId=upload)["Key"] == "big.bin"


def test_a_rename_into_or_out_of_a_read_only_route_is_refused(world: Any) -> None:
    s3, sent, _ = world
    # Into data/ref/ (read-only) from the writable part of data, and out of it: a rename
    # deletes its source, so both ends must be writable.
    err = assert_refused(
        lambda: s3.rename_object(Bucket="data", Key="ref/new.csv", RenameSource="a.txt"), "RenameObject"
    )
    assert "data/ref/new.csv" in err.response["Error"]["Message"]
    err = assert_refused(
        lambda: s3.rename_object(Bucket="data", Key="moved.csv", RenameSource="/data/ref/table.csv"),
        "RenameObject",
    )
    assert "data/ref/table.csv" in err.response["Error"]["Message"]
    assert sent.requests == []


def test_a_bulk_delete_touching_a_read_only_key_is_refused_whole(world: Any) -> None:
    s3, sent, backends = world
    before = contents(backends)
    objects = [{"Key": "a.txt"}, {"Key": "ref/table.csv"}, {"Key": "missing"}]
    err = assert_refused(
        lambda: s3.delete_objects(Bucket="data", Delete={"Objects": objects}), "DeleteObjects"
    )
    assert "data/ref/table.csv" in err.response["Error"]["Message"]
    assert sent.requests == []
    assert contents(backends) == before  # a.txt, on a writable route, was not deleted either
    # Without the read-only key the same call goes through.
    deleted = s3.delete_objects(Bucket="data", Delete={"Objects": [{"Key": "a.txt"}]})
    assert deleted["Deleted"] == [{"Key": "a.txt"}]
    assert "Contents" not in backends["s3"].list_objects_v2(Bucket="data")


def test_an_empty_bulk_delete_on_a_read_only_bucket_is_refused(world: Any) -> None:
    s3, sent, _ = world
    assert_refused(lambda: s3.delete_objects(Bucket="shared", Delete={"Objects": []}), "DeleteObjects")
    assert sent.requests == []


# -- presigning ----------------------------------------------------------------------------


@pytest.mark.parametrize("http_method", ["PUT", "POST", "DELETE", "put", "PATCH"])
def test_a_presigned_url_that_would_write_is_refused(world: Any, http_method: str) -> None:
    s3, sent, _ = world
    params = {"Bucket": "dataset", "Key": "images/cat.jpg"}
    assert_refused(
        lambda: s3.generate_presigned_url("get_object", Params=params, HttpMethod=http_method), "GetObject"
    )
    assert_refused(lambda: s3.generate_presigned_url("put_object", Params=params), "PutObject")
    assert_refused(
        lambda: s3.generate_presigned_url("put_object", Params=params, HttpMethod=http_method), "PutObject"
    )
    assert sent.requests == []


def test_a_presigned_post_into_a_read_only_route_is_refused(world: Any) -> None:
    s3, sent, backends = world
    for bucket, key in [("shared", "uploads/${filename}"), ("data", "ref/new.csv")]:
        err = assert_refused(lambda b=bucket, k=key: s3.generate_presigned_post(b, k), "PostObject")
        assert f"{bucket}/{key}" in err.response["Error"]["Message"]
    post = s3.generate_presigned_post("scratch", "uploads/x")  # a writable route on the same client
    assert post["url"].startswith(backends["lake"].meta.endpoint_url)
    assert sent.requests == []


@pytest.mark.parametrize(
    ("key", "conditions"),
    [
        ("${filename}", None),  # botocore signs ["starts-with", "$key", ""]: every key
        ("ref${filename}", None),  # "ref" also starts "ref/..."
        ("up/${filename}", [["starts-with", "$key", "r"]]),  # contradicts: no key at all...
        ("${filename}", [["starts-with", "$Key", "r"]]),  # ...but this one reaches ref/
    ],
)
def test_a_presigned_post_whose_policy_reaches_a_read_only_key_is_refused(
    world: Any, key: str, conditions: list[Any] | None
) -> None:
    s3, sent, _ = world
    if key.startswith("up/"):  # S3 applies every condition: this policy allows no key
        s3.generate_presigned_post("data", key, Conditions=conditions)
        return
    err = assert_refused(lambda: s3.generate_presigned_post("data", key, Conditions=conditions), "PostObject")
    assert "data/ref/" in err.response["Error"]["Message"]
    assert sent.requests == []


def test_a_presigned_post_scoped_inside_a_writable_route_is_signed(
    world: Any, servers: dict[str, Any]
) -> None:
    s3, _, _ = world
    uploads = [["starts-with", "$key", "uploads/"]]
    post = s3.generate_presigned_post("data", "${filename}", Conditions=uploads)
    assert post["url"].startswith(servers["s3"].endpoint_url)
    assert ["starts-with", "$key", "uploads/"] in _policy(post)["conditions"]
    # One key, however wide the caller's own conditions: S3 applies all of them.
    post = s3.generate_presigned_post("data", "a.txt", Conditions=[["starts-with", "$key", ""]])
    assert {"key": "a.txt"} in _policy(post)["conditions"]


def _policy(post: dict[str, Any]) -> dict[str, Any]:
    return json.loads(base64.b64decode(post["fields"]["policy"]))


# -- managed transfers ------------------------------------------------------------------------


def test_managed_uploads_into_a_read_only_route_fail_and_downloads_work(world: Any, tmp_path: Path) -> None:
    s3, sent, backends = world
    before = contents(backends)
    source = tmp_path / "up.bin"
    source.write_bytes(b"u" * 1024)
    # As with boto3 on a denied write: upload_file wraps the error, upload_fileobj does not.
    with pytest.raises(boto3.exceptions.S3UploadFailedError, match=r"shared/up.bin: .*AccessDenied"):
        s3.upload_file(str(source), "shared", "up.bin")
    with pytest.raises(ReadOnlyError):
        s3.upload_fileobj(io.BytesIO(b"u"), "dataset", "images/dog.jpg")
    # A managed copy into it, from an existing writable object (data/a.txt on s3): the
    # HEAD of the source is a read and is sent; the CopyObject into ref/ is refused.
    err = assert_refused(
        lambda: s3.copy(CopySource={"Bucket": "data", "Key": "a.txt"}, Bucket="data", Key="ref/copied.csv"),
        "CopyObject",
    )
    assert "data/ref/copied.csv" in err.response["Error"]["Message"]
    assert not [r for r in sent.requests if r[1] in ("PUT", "POST", "DELETE")]
    assert contents(backends) == before
    target = tmp_path / "down.jpg"
    s3.download_file("dataset", "images/cat.jpg", str(target))
    assert target.read_bytes() == b"images/cat.jpg v1"
    buffer = io.BytesIO()
    s3.download_fileobj("data", "ref/table.csv", buffer)
    assert buffer.getvalue() == b"ref/table.csv v1"
    # A managed copy out of a read-only route works.
    s3.copy(CopySource={"Bucket": "shared", "Key": "readme.txt"}, Bucket="scratch", Key="readme.txt")
    assert backends["lake"].get_object(Bucket="scratch", Key="readme.txt")["Body"].read() == b"readme.txt v1"


# -- read-only with fallbacks ----------------------------------------------------------------


def test_a_read_only_route_with_a_fallback_reads_through_and_writes_nothing(backends: dict[str, Any]) -> None:
    lake, s3, old = backends["lake"], backends["s3"], backends["oracle"]
    lake.create_bucket(Bucket="archive")
    old.create_bucket(Bucket="archive")
    lake.put_object(Bucket="archive", Key="new.txt", Body=b"new")
    old.put_object(Bucket="archive", Key="old.txt", Body=b"old")
    client = botwo.client(
        {"s3": s3, "lake": lake, "old": old},
        [
            {"bucket_name": "archive", "client": "lake", "fallback": ["old"], "readonly": True},
            {"bucket_name": "*", "client": "s3"},
        ],
    )
    sent = Sent({"lake": lake, "old": old})
    assert client.get_object(Bucket="archive", Key="new.txt")["Body"].read() == b"new"
    assert client.get_object(Bucket="archive", Key="old.txt")["Body"].read() == b"old"
    sent.clear()
    for call in (
        lambda: client.put_object(Bucket="archive", Key="old.txt", Body=b"x"),
        lambda: client.delete_object(Bucket="archive", Key="old.txt"),
        lambda: client.delete_objects(Bucket="archive", Delete={"Objects": [{"Key": "old.txt"}]}),
    ):
        with pytest.raises(ReadOnlyError):
            call()
    assert sent.requests == []
    assert old.get_object(Bucket="archive", Key="old.txt")["Body"].read() == b"old"
