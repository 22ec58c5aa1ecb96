"""boto3's S3 resource over a routing client (:mod:`botwo._resource`).

Differential, as the rest of the suite: the same resource code runs on a botwo resource
over the ``s3`` and ``lake`` servers and on a plain ``boto3`` resource over the
``oracle`` server (one S3 holding the caller's whole namespace), and what the caller
sees must be the same. The backends' own clients then show that the data landed where
the rules say.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

import botwo
from botwo._resource import service_resource
from botwo.testing import LocalS3Server

MAPPING: list[dict[str, Any]] = [
    {
        "bucket_name": "example-old-bucket",
        "mapped_bucket_name": "example-repo",
        "client": "lakefs",
        "key_prefix": "main/",
    },
    # data/raw/x -> lakefs raw-repo/main/x ; the rest of data stays on s3
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
CALLER_BUCKETS = ("data", "example-old-bucket", "other")
DATA_KEYS = ["a.txt", "raw/2024/y.csv", "raw/x.csv", "raw0", "reports/z.csv", "zz/last"]
MiB = 1024 * 1024
SMALL_PARTS = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=2)


@pytest.fixture
def routing(backends: dict[str, Any]) -> Iterator[Any]:
    backends["lake"].create_bucket(Bucket="example-repo")
    backends["lake"].create_bucket(Bucket="raw-repo")
    backends["s3"].create_bucket(Bucket="data")
    backends["s3"].create_bucket(Bucket="other")
    for bucket in CALLER_BUCKETS:
        backends["oracle"].create_bucket(Bucket=bucket)
    client = botwo.client({"s3": backends["s3"], "lakefs": backends["lake"]}, MAPPING)
    yield client
    client.close()


@pytest.fixture
def res(routing: Any) -> Any:
    """The botwo resource."""
    return service_resource(routing)


@pytest.fixture
def oracle(servers: dict[str, LocalS3Server], backends: dict[str, Any]) -> Any:
    """A plain boto3 resource over the oracle server, built as boto3.resource builds it."""
    server = servers["oracle"]
    return boto3.session.Session().resource(
        "s3",
        endpoint_url=server.endpoint_url,
        region_name=server.region,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard"}),
    )


def both(res: Any, oracle: Any, scenario: Callable[[Any], Any]) -> Any:
    """Run ``scenario`` on the botwo resource and on the oracle's; the results must agree."""
    ours, theirs = scenario(res), scenario(oracle)
    assert ours == theirs
    return ours


def put_data(resource: Any) -> None:
    for key in DATA_KEYS:
        resource.Object("data", key).put(Body=key.encode(), Metadata={"k": key[:3]})


def target_keys(client: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    error = dict(caught.value.response["Error"])
    error.pop("RequestID", None)
    error.pop("HostId", None)
    return {"operation": caught.value.operation_name, **error}


# -- the resource itself ---------------------------------------------------------------


def test_is_boto3s_resource_over_the_routing_client(
    routing: Any, res: Any, oracle: Any, backends: dict[str, Any]
) -> None:
    assert res.meta.client is routing
    assert type(res).__name__ == type(oracle).__name__ == "s3.ServiceResource"
    assert type(res).__mro__[1:] == type(oracle).__mro__[1:]  # boto3's ServiceResource
    # Sub-resources, collections and their items carry the same client.
    bucket = res.Bucket("data")
    assert bucket.meta.client is routing
    assert bucket.Object("k").meta.client is routing
    assert res.Object("data", "k").Acl().meta.client is routing
    # The class is built once per service model; each resource has its own client.
    other = botwo.client({"s3": backends["s3"]}, [{"bucket_name": "*", "client": "s3"}])
    assert type(service_resource(other)) is type(res)
    assert service_resource(other).meta.client is other


def test_boto3s_injected_methods_are_present(res: Any, oracle: Any) -> None:
    injected = {
        "Bucket": ("load", "upload_file", "download_file", "copy", "upload_fileobj", "download_fileobj"),
        "Object": ("upload_file", "download_file", "copy", "upload_fileobj", "download_fileobj"),
        "ObjectSummary": ("load",),
    }
    for name, methods in injected.items():
        ours = getattr(res, name)(*(("b",) if name == "Bucket" else ("b", "k")))
        theirs = getattr(oracle, name)(*(("b",) if name == "Bucket" else ("b", "k")))
        assert sorted(n for n in dir(ours) if not n.startswith("_")) == sorted(
            n for n in dir(theirs) if not n.startswith("_")
        )
        for method in methods:
            assert getattr(type(ours), method).__module__ == "boto3.s3.inject"


def test_service_resource_needs_a_routing_client(backends: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match="routing client"):
        service_resource(backends["s3"])


# -- objects ---------------------------------------------------------------------------


def test_put_get_load_delete(res: Any, oracle: Any, backends: dict[str, Any]) -> None:
    def scenario(s3: Any) -> Any:
        obj = s3.Object("example-old-bucket", "test/object.txt")
        put = obj.put(Body=b"hello", ContentType="text/plain", Metadata={"team": "ml"})
        got = obj.get()
        obj.load()
        seen: tuple[Any, ...] = (
            put["ETag"],
            got["Body"].read(),
            got["ContentType"],
            got["Metadata"],
            obj.content_length,
            obj.e_tag,
            obj.metadata,
            obj.content_type,
            obj.bucket_name,
            obj.key,
        )
        summary = s3.ObjectSummary("example-old-bucket", "test/object.txt")
        summary.load()  # injected by boto3: a head_object
        seen += (summary.size, summary.e_tag, summary.get()["Body"].read())
        return seen

    both(res, oracle, scenario)
    # On lakefs, in the repository, under the branch.
    lake = backends["lake"]
    assert target_keys(lake, "example-repo") == ["main/test/object.txt"]
    assert lake.get_object(Bucket="example-repo", Key="main/test/object.txt")["Metadata"] == {"team": "ml"}
    assert "example-old-bucket" not in [b["Name"] for b in lake.list_buckets()["Buckets"]]

    def delete(s3: Any) -> Any:
        s3.Object("example-old-bucket", "test/object.txt").delete()
        return [o.key for o in s3.Bucket("example-old-bucket").objects.all()]

    assert both(res, oracle, delete) == []
    assert target_keys(lake, "example-repo") == []


def test_missing_key_errors_name_the_callers_bucket_and_key(res: Any, oracle: Any, routing: Any) -> None:
    def scenario(s3: Any) -> Any:
        obj = s3.Object("example-old-bucket", "dir/missing")
        return (
            error_of(obj.get),
            error_of(obj.load),  # a HEAD: code 404, no body
            error_of(lambda: s3.Object("data", "raw/missing").get()),
            error_of(lambda: list(s3.Bucket("nowhere").objects.all())),
        )

    get_missing, head_missing, raw_missing, no_bucket = both(res, oracle, scenario)
    assert get_missing["Code"] == "NoSuchKey" and get_missing["Key"] == "dir/missing"
    assert head_missing["Code"] == "404"
    assert raw_missing["Key"] == "raw/missing"
    assert no_bucket["Code"] == "NoSuchBucket" and no_bucket["BucketName"] == "nowhere"

    with pytest.raises(routing.exceptions.NoSuchKey) as caught:
        res.Object("example-old-bucket", "dir/missing").get()
    assert "example-repo" not in str(caught.value) and "main/" not in str(caught.value)
    assert caught.value.botwo_route.client == "lakefs"


def test_copy_from_across_backends(res: Any, oracle: Any, backends: dict[str, Any]) -> None:
    def scenario(s3: Any) -> Any:
        src = s3.Object("example-old-bucket", "models/v1.bin")
        src.put(Body=b"weights" * 1000, Metadata={"epoch": "7"}, ContentType="application/x-bin")
        copied = s3.Object("data", "reports/v1.bin")
        copied.copy_from(CopySource={"Bucket": "example-old-bucket", "Key": "models/v1.bin"})
        replaced = s3.Object("data", "raw/v1.bin")
        replaced.copy_from(
            CopySource={"Bucket": "data", "Key": "reports/v1.bin"},
            MetadataDirective="REPLACE",
            Metadata={"epoch": "8"},
            ContentType="text/plain",
        )
        seen = []
        for obj in (copied, replaced):
            got = obj.get()
            seen.append((got["Body"].read(), got["Metadata"], got["ContentType"], obj.content_length))
        return seen

    both(res, oracle, scenario)
    # lakefs -> s3, then s3 -> lakefs (strip_prefix: raw/ is dropped on the target).
    assert target_keys(backends["s3"], "data") == ["reports/v1.bin"]
    assert target_keys(backends["lake"], "raw-repo") == ["main/v1.bin"]
    meta = backends["lake"].head_object(Bucket="raw-repo", Key="main/v1.bin")
    assert meta["Metadata"] == {"epoch": "8"} and meta["ContentType"] == "text/plain"


# -- collections -----------------------------------------------------------------------


def test_objects_filter_over_a_split_bucket(res: Any, oracle: Any, backends: dict[str, Any]) -> None:
    put_data(res)
    put_data(oracle)

    def scenario(s3: Any) -> Any:
        bucket = s3.Bucket("data")
        listed = {
            prefix: [(o.key, o.size, o.e_tag) for o in bucket.objects.filter(Prefix=prefix)]
            for prefix in ("", "raw", "raw/", "raw/2", "r", "zz/", "nothing")
        }
        return (
            listed,
            [o.key for o in bucket.objects.all()],
            [o.key for o in bucket.objects.page_size(2)],
            [o.key for o in bucket.objects.limit(3)],
            [[o.key for o in page] for page in bucket.objects.page_size(2).pages()],
            [o.key for o in bucket.objects.filter(Marker="raw/2024/y.csv")],
            [o.get()["Body"].read() for o in bucket.objects.filter(Prefix="raw/")],
        )

    seen = both(res, oracle, scenario)
    assert seen[1] == sorted(DATA_KEYS)
    assert sorted(target_keys(backends["lake"], "raw-repo")) == ["main/2024/y.csv", "main/x.csv"]
    assert target_keys(backends["s3"], "data") == ["a.txt", "raw0", "reports/z.csv", "zz/last"]


def test_buckets_all_and_bucket_load(res: Any, oracle: Any) -> None:
    def scenario(s3: Any) -> Any:
        names = [b.name for b in s3.buckets.all()]
        bucket = s3.Bucket("example-old-bucket")
        bucket.load()  # injected by boto3: finds the bucket in list_buckets
        return names, bucket.creation_date is not None

    assert both(res, oracle, scenario) == (sorted(CALLER_BUCKETS), True)


def test_batch_delete_over_a_split_bucket(res: Any, oracle: Any, backends: dict[str, Any]) -> None:
    put_data(res)
    put_data(oracle)

    def scenario(s3: Any) -> Any:
        bucket = s3.Bucket("data")
        responses = bucket.objects.filter(Prefix="r").delete()
        deleted = sorted(d["Key"] for r in responses for d in r.get("Deleted", []))
        return deleted, [o.key for o in bucket.objects.all()]

    deleted, left = both(res, oracle, scenario)
    assert deleted == ["raw/2024/y.csv", "raw/x.csv", "raw0", "reports/z.csv"]
    assert left == ["a.txt", "zz/last"]
    assert target_keys(backends["lake"], "raw-repo") == []
    assert target_keys(backends["s3"], "data") == ["a.txt", "zz/last"]

    # The whole bucket, in pages of two keys: one delete_objects per page.
    put_data(res)
    put_data(oracle)

    def everything(s3: Any) -> Any:
        responses = s3.Bucket("data").objects.page_size(2).delete()
        return [sorted(d["Key"] for d in r["Deleted"]) for r in responses]

    assert len(both(res, oracle, everything)) == 3
    assert target_keys(backends["lake"], "raw-repo") == target_keys(backends["s3"], "data") == []


def test_bucket_delete_objects_across_routes(res: Any, oracle: Any, backends: dict[str, Any]) -> None:
    put_data(res)
    put_data(oracle)

    def scenario(s3: Any) -> Any:
        bucket = s3.Bucket("data")
        response = bucket.delete_objects(
            Delete={"Objects": [{"Key": "raw/x.csv"}, {"Key": "a.txt"}, {"Key": "raw/never"}]}
        )
        return [d["Key"] for d in response["Deleted"]], [o.key for o in bucket.objects.all()]

    deleted, left = both(res, oracle, scenario)
    assert sorted(deleted) == ["a.txt", "raw/never", "raw/x.csv"]
    assert "raw/x.csv" not in left and "a.txt" not in left
    assert target_keys(backends["lake"], "raw-repo") == ["main/2024/y.csv"]


def test_object_versions(res: Any, oracle: Any, backends: dict[str, Any]) -> None:
    def scenario(s3: Any) -> Any:
        s3.BucketVersioning("example-old-bucket").enable()
        obj = s3.Object("example-old-bucket", "v/key")
        obj.put(Body=b"one")
        obj.put(Body=b"two")
        s3.Object("example-old-bucket", "v/other").put(Body=b"x")
        bucket = s3.Bucket("example-old-bucket")
        versions = list(bucket.object_versions.filter(Prefix="v/key"))
        seen = [(v.key, v.is_latest, v.size, v.get()["Body"].read()) for v in versions]
        oldest = versions[-1]
        oldest.delete()  # deletes that version only
        after = [(v.key, v.is_latest) for v in bucket.object_versions.all()]
        obj.delete()  # a delete marker
        marked = [(v.key, v.is_latest) for v in bucket.object_versions.all()]
        return (
            s3.BucketVersioning("example-old-bucket").status,
            seen,
            after,
            marked,
            [o.key for o in bucket.objects.all()],
        )

    status, seen, _, marked, listed = both(res, oracle, scenario)
    assert status == "Enabled"
    assert [s[3] for s in seen] == [b"two", b"one"]
    assert ("v/key", True) in marked and listed == ["v/other"]
    lake = backends["lake"]
    assert lake.get_bucket_versioning(Bucket="example-repo")["Status"] == "Enabled"
    listed_on_lake = lake.list_object_versions(Bucket="example-repo")
    assert {v["Key"] for v in listed_on_lake["Versions"]} == {"main/v/key", "main/v/other"}


# -- managed transfers ------------------------------------------------------------------


def test_upload_download_and_managed_copy(
    res: Any, oracle: Any, backends: dict[str, Any], tmp_path: Path
) -> None:
    payload = os.urandom(11 * MiB)  # three parts of SMALL_PARTS
    source = tmp_path / "big.bin"
    source.write_bytes(payload)

    def scenario(s3: Any) -> Any:
        sent: list[int] = []
        s3.Object("example-old-bucket", "big.bin").upload_file(
            str(source), Config=SMALL_PARTS, Callback=sent.append
        )
        s3.Bucket("data").upload_file(str(source), "raw/big.bin", Config=SMALL_PARTS)
        s3.Object("data", "reports/small.txt").upload_fileobj(io.BytesIO(b"small"))
        # A managed copy from lakefs to s3 (a multipart copy over two backends).
        s3.Object("data", "reports/big.bin").copy(
            {"Bucket": "example-old-bucket", "Key": "big.bin"}, Config=SMALL_PARTS
        )
        s3.Bucket("other").copy({"Bucket": "data", "Key": "raw/big.bin"}, "copied.bin", Config=SMALL_PARTS)
        got = []
        for bucket, key in (
            ("example-old-bucket", "big.bin"),
            ("data", "raw/big.bin"),
            ("data", "reports/big.bin"),
            ("other", "copied.bin"),
        ):
            out = tmp_path / f"{id(s3)}-{bucket}-{key.replace('/', '_')}"
            s3.Object(bucket, key).download_file(str(out), Config=SMALL_PARTS)
            got.append(out.read_bytes() == payload)
        buffer = io.BytesIO()
        s3.Bucket("data").download_fileobj("reports/small.txt", buffer)
        return sum(sent), got, buffer.getvalue(), s3.Object("other", "copied.bin").content_length

    assert both(res, oracle, scenario) == (len(payload), [True] * 4, b"small", len(payload))
    assert target_keys(backends["lake"], "example-repo") == ["main/big.bin"]
    assert target_keys(backends["lake"], "raw-repo") == ["main/big.bin"]
    assert target_keys(backends["s3"], "data") == ["reports/big.bin", "reports/small.txt"]
    assert target_keys(backends["s3"], "other") == ["copied.bin"]


def test_multipart_upload_resources(res: Any, oracle: Any, backends: dict[str, Any]) -> None:
    first = b"a" * (5 * MiB)

    def scenario(s3: Any) -> Any:
        obj = s3.Object("data", "raw/parts.bin")
        upload = obj.initiate_multipart_upload(Metadata={"m": "1"})
        abandoned = s3.Object("example-old-bucket", "gone.bin").initiate_multipart_upload()
        parts = [
            {"PartNumber": n, "ETag": upload.Part(n).upload(Body=body)["ETag"]}
            for n, body in ((1, first), (2, b"tail"))
        ]
        listed = [(u.key, u.object_key) for u in s3.Bucket("data").multipart_uploads.all()]
        listed_parts = [(p.part_number, p.size) for p in upload.parts.all()]
        abandoned.abort()
        left = [u.key for u in s3.Bucket("example-old-bucket").multipart_uploads.all()]
        done = upload.complete(MultipartUpload={"Parts": parts})
        got = done.get()
        return (
            (done.bucket_name, done.key),
            listed,
            listed_parts,
            left,
            got["Body"].read() == first + b"tail",
            got["Metadata"],
            [u.key for u in s3.Bucket("data").multipart_uploads.all()],
        )

    seen = both(res, oracle, scenario)
    assert seen[0] == ("data", "raw/parts.bin")
    assert seen[1] == [("raw/parts.bin", "raw/parts.bin")]
    assert target_keys(backends["lake"], "raw-repo") == ["main/parts.bin"]
    assert backends["lake"].list_multipart_uploads(Bucket="example-repo").get("Uploads", []) == []


# -- waiters and bucket actions --------------------------------------------------------


def test_waiters_and_bucket_create(res: Any, oracle: Any, backends: dict[str, Any]) -> None:
    def scenario(s3: Any) -> Any:
        bucket = s3.Bucket("new-data")
        bucket.create()
        bucket.wait_until_exists()
        obj = bucket.Object("k")
        obj.put(Body=b"v")
        obj.wait_until_exists()
        s3.Bucket("example-old-bucket").wait_until_exists()
        obj.delete()
        obj.wait_until_not_exists()
        bucket.delete()
        bucket.wait_until_not_exists()
        return [b.name for b in s3.buckets.all()]

    assert both(res, oracle, scenario) == sorted(CALLER_BUCKETS)


def test_bucket_create_follows_the_rename(res: Any, backends: dict[str, Any]) -> None:
    lake = backends["lake"]
    lake.delete_bucket(Bucket="example-repo")
    bucket = res.Bucket("example-old-bucket")
    bucket.create()
    bucket.wait_until_exists()
    assert "example-repo" in [b["Name"] for b in lake.list_buckets()["Buckets"]]
    bucket.put_object(Key="hello.txt", Body=b"hi")
    assert target_keys(lake, "example-repo") == ["main/hello.txt"]
    assert [o.key for o in bucket.objects.all()] == ["hello.txt"]


# -- what the client refuses, the resource refuses ---------------------------------------


def test_refusals_are_the_clients(backends: dict[str, Any], res: Any, tmp_path: Path) -> None:
    # A bucket policy names buckets and keys: not sent through a route that renames.
    policy = '{"Version": "2012-10-17", "Statement": []}'
    with pytest.raises(botwo.RoutingError):
        res.BucketPolicy("example-old-bucket").put(Policy=policy)
    # A read-only route: reads pass, writes are refused before anything is sent.
    backends["lake"].put_object(Bucket="example-repo", Key="main/cities.csv", Body=b"paris")
    readonly = service_resource(
        botwo.client(
            {"s3": backends["s3"], "lakefs": backends["lake"]},
            [{**MAPPING[0], "readonly": True}, *MAPPING[1:]],
        )
    )
    obj = readonly.Object("example-old-bucket", "cities.csv")
    assert obj.get()["Body"].read() == b"paris"
    with pytest.raises(botwo.ReadOnlyError) as caught:
        obj.put(Body=b"london")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(botwo.ReadOnlyError):
        readonly.Bucket("example-old-bucket").objects.all().delete()
    source = tmp_path / "f.txt"
    source.write_bytes(b"x")
    with pytest.raises(S3UploadFailedError):
        obj.upload_file(str(source))
    assert target_keys(backends["lake"], "example-repo") == ["main/cities.csv"]
