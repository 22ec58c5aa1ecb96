"""The routing client over real servers: its surface, errors, events, transfers."""

from __future__ import annotations

import copy
import inspect
import io
import threading
import urllib.request
import uuid
from typing import Any

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore import xform_name
from botocore.exceptions import ClientError, ParamValidationError

import botwo
from botwo import RoutingError, TokenError

from .differential import MAPPING, TARGET_BUCKETS


@pytest.fixture
def s3(backends: dict[str, Any]) -> Any:
    for name, buckets in TARGET_BUCKETS.items():
        for bucket in buckets:
            backends[name].create_bucket(Bucket=bucket)
    client = botwo.client({"s3": backends["s3"], "lake": backends["lake"]}, MAPPING)
    yield client


@pytest.fixture(scope="module")
def plain() -> Any:
    return boto3.client("s3", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")


# -- the surface ---------------------------------------------------------------------


def test_every_operation_has_boto3s_name_signature_and_docstring(s3: Any, plain: Any) -> None:
    operations = [xform_name(op) for op in plain.meta.service_model.operation_names]
    assert len(operations) > 100
    for name in operations:
        ours, theirs = getattr(s3, name), getattr(plain, name)
        assert ours.__name__ == theirs.__name__ == name
        assert inspect.signature(ours) == inspect.signature(theirs), name
        assert str(ours.__doc__) == str(theirs.__doc__), name


def test_the_extra_methods_match_boto3(s3: Any, plain: Any) -> None:
    public = {a for a in dir(plain) if not a.startswith("_")}
    assert public <= {a for a in dir(s3) if not a.startswith("_")}
    for name in [
        "upload_file",
        "download_file",
        "upload_fileobj",
        "download_fileobj",
        "copy",
        "generate_presigned_url",
        "generate_presigned_post",
        "get_paginator",
        "get_waiter",
        "can_paginate",
        "close",
    ]:
        ours, theirs = getattr(s3, name), getattr(plain, name)
        assert inspect.signature(ours) == inspect.signature(theirs), name
        assert ours.__doc__ == theirs.__doc__, name
    assert s3.waiter_names == plain.waiter_names
    assert s3.can_paginate("list_objects_v2") and not s3.can_paginate("get_object")
    assert s3.meta.service_model.service_name == "s3"
    assert s3.meta.method_to_api_mapping == plain.meta.method_to_api_mapping


def test_positional_arguments_are_refused_like_boto3(s3: Any) -> None:
    with pytest.raises(TypeError, match=r"^get_object\(\) only accepts keyword arguments\.$"):
        s3.get_object("plain", "k")


def test_missing_parameters_are_botocores_validation_error(s3: Any) -> None:
    with pytest.raises(ParamValidationError, match='Missing required parameter in input: "Bucket"'):
        s3.get_object(Key="k")
    with pytest.raises(ParamValidationError, match="Invalid type for parameter Key"):
        s3.put_object(Bucket="plain", Key=3)


# -- errors --------------------------------------------------------------------------


def test_errors_from_separate_sessions_are_caught_as_this_clients_classes(servers: dict[str, Any]) -> None:
    for server in servers.values():
        server.reset()
    lake = servers["lake"].client()  # boto3.client: the default session
    other = boto3.session.Session().client(  # a separate session: other exception classes
        "s3",
        endpoint_url=servers["s3"].endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=servers["s3"].access_key,
        aws_secret_access_key=servers["s3"].secret_key,
    )
    assert other.exceptions.NoSuchKey is not lake.exceptions.NoSuchKey
    lake.create_bucket(Bucket="example-repo")
    other.create_bucket(Bucket="plain")
    s3 = botwo.client({"s3": other, "lake": lake}, MAPPING)
    for bucket, client_name in (("example-old-bucket", "lake"), ("plain", "s3")):
        with pytest.raises(s3.exceptions.NoSuchKey) as caught:
            s3.get_object(Bucket=bucket, Key="dir/missing")
        err = caught.value
        assert isinstance(err, ClientError)
        assert err.response["Error"]["Key"] == "dir/missing"
        assert err.operation_name == "GetObject"
        assert isinstance(err.__cause__, ClientError) and err.__cause__ is not err
        assert err.botwo_route.client == client_name
        assert f"client {client_name!r}" in err.__notes__[0]
    with pytest.raises(s3.exceptions.NoSuchBucket) as caught:
        s3.list_objects_v2(Bucket="nowhere")
    assert caught.value.response["Error"]["BucketName"] == "nowhere"


def test_renamed_buckets_are_the_callers_in_errors(s3: Any, backends: dict[str, Any]) -> None:
    backends["lake"].delete_bucket(Bucket="example-repo")
    with pytest.raises(s3.exceptions.NoSuchBucket) as caught:
        s3.put_object(Bucket="example-old-bucket", Key="k", Body=b"")
    error = caught.value.response["Error"]
    assert error["BucketName"] == "example-old-bucket"
    assert "example-repo" not in str(caught.value) and "main/" not in str(error)


# -- names in responses --------------------------------------------------------------


def test_multipart_and_bucket_locations_speak_caller_names(s3: Any, backends: dict[str, Any]) -> None:
    created = s3.create_multipart_upload(Bucket="example-old-bucket", Key="a b/ü")
    assert (created["Bucket"], created["Key"]) == ("example-old-bucket", "a b/ü")
    part = s3.upload_part(
        Bucket="example-old-bucket", Key="a b/ü", UploadId=created["UploadId"], PartNumber=1, Body=b"x"
    )
    done = s3.complete_multipart_upload(
        Bucket="example-old-bucket",
        Key="a b/ü",
        UploadId=created["UploadId"],
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
    )
    assert (done["Bucket"], done["Key"]) == ("example-old-bucket", "a b/ü")
    assert "example-repo" not in done["Location"] and "main/" not in done["Location"]
    assert done["Location"].endswith("/a b/ü")
    assert backends["lake"].get_object(Bucket="example-repo", Key="main/a b/ü")["Body"].read() == b"x"
    backends["lake"].create_bucket(Bucket="fresh-target")
    renamed = botwo.client(
        {"s3": backends["s3"], "lake": backends["lake"]},
        [{"bucket_name": "fresh", "mapped_bucket_name": "made-here", "client": "lake"}, MAPPING[-1]],
    )
    assert renamed.create_bucket(Bucket="fresh")["Location"] == "/fresh"
    assert "made-here" in [b["Name"] for b in backends["lake"].list_buckets()["Buckets"]]


def test_explicit_url_encoding_matches_one_server(s3: Any, backends: dict[str, Any]) -> None:
    oracle = backends["oracle"]
    oracle.create_bucket(Bucket="data")
    keys = ["raw/a b+c%d?.txt", "raw/ü/é", "raw/back\\slash", "raw/x/1"]
    for key in keys:
        s3.put_object(Bucket="data", Key=key, Body=b"1")
        oracle.put_object(Bucket="data", Key=key, Body=b"1")
    for delimiter in ("", "/"):
        ours = s3.list_objects_v2(Bucket="data", Prefix="raw/", Delimiter=delimiter, EncodingType="url")
        theirs = oracle.list_objects_v2(Bucket="data", Prefix="raw/", Delimiter=delimiter, EncodingType="url")
        assert [c["Key"] for c in ours.get("Contents", [])] == [c["Key"] for c in theirs.get("Contents", [])]
        assert ours.get("CommonPrefixes") == theirs.get("CommonPrefixes")
        assert ours["Prefix"] == theirs["Prefix"]


# -- calls that span routes ----------------------------------------------------------


def test_payloads_with_names_only_pass_through_routes_that_rename_nothing(s3: Any) -> None:
    config = {
        "Rules": [{"ID": "r", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 1}}]
    }
    with pytest.raises(RoutingError, match="renames nothing"):
        s3.put_bucket_lifecycle_configuration(Bucket="example-old-bucket", LifecycleConfiguration=config)
    s3.put_bucket_lifecycle_configuration(Bucket="plain", LifecycleConfiguration=config)
    assert s3.get_bucket_lifecycle_configuration(Bucket="plain")["Rules"][0]["Filter"] == {"Prefix": "tmp/"}


def test_foreign_and_forged_tokens_are_refused(s3: Any, backends: dict[str, Any]) -> None:
    for i in range(3):
        s3.put_object(Bucket="example-old-bucket", Key=f"k{i}", Body=b"")
    page = s3.list_objects_v2(Bucket="example-old-bucket", MaxKeys=1)
    token = page["NextContinuationToken"]
    other = botwo.client({"s3": backends["s3"], "lake": backends["lake"]}, MAPPING[1:])
    with pytest.raises(TokenError):
        other.list_objects_v2(Bucket="example-old-bucket", ContinuationToken=token)
    with pytest.raises(TokenError):
        s3.list_objects_v2(Bucket="example-old-bucket", ContinuationToken=token[:-3] + "AAA")
    with pytest.raises(TokenError, match="another listing"):
        s3.list_objects_v2(Bucket="example-old-bucket", Prefix="k", ContinuationToken=token)
    rest = s3.list_objects_v2(Bucket="example-old-bucket", ContinuationToken=token)
    assert [c["Key"] for c in rest["Contents"]] == ["k1", "k2"]


# -- the caller's arguments ----------------------------------------------------------


def test_the_callers_arguments_are_never_mutated(s3: Any) -> None:
    calls: list[tuple[str, dict[str, Any]]] = [
        ("put_object", {"Bucket": "example-old-bucket", "Key": "a", "Body": b"x", "Metadata": {"m": "1"}}),
        (
            "copy_object",
            {"Bucket": "bucket-a", "Key": "b", "CopySource": {"Bucket": "example-old-bucket", "Key": "a"}},
        ),
        ("copy_object", {"Bucket": "bucket-a", "Key": "c", "CopySource": "example-old-bucket/a"}),
        ("list_objects_v2", {"Bucket": "example-old-bucket", "Prefix": "", "StartAfter": "0"}),
        ("delete_objects", {"Bucket": "bucket-a", "Delete": {"Objects": [{"Key": "b"}, {"Key": "c"}]}}),
    ]
    for method, params in calls:
        frozen = copy.deepcopy(params)
        getattr(s3, method)(**params)
        assert params == frozen, method
    url_params = {"Bucket": "example-old-bucket", "Key": "a"}
    s3.generate_presigned_url("get_object", Params=url_params)
    assert url_params == {"Bucket": "example-old-bucket", "Key": "a"}


# -- events, transfers, presigning ---------------------------------------------------


def test_events_reach_every_underlying_client(s3: Any) -> None:
    seen: list[str] = []

    def handler(request: Any, **_: Any) -> None:
        seen.append(request.url)

    s3.meta.events.register("before-send.s3.PutObject", handler)
    s3.put_object(Bucket="example-old-bucket", Key="k", Body=b"")  # lake
    s3.put_object(Bucket="plain", Key="k", Body=b"")  # s3
    assert len(seen) == 2 and seen[0].split("/")[2] != seen[1].split("/")[2]
    s3.meta.events.unregister("before-send.s3.PutObject", handler)
    s3.put_object(Bucket="plain", Key="k", Body=b"")
    assert len(seen) == 2


def test_managed_transfers_route_every_part_and_report_real_bytes(
    s3: Any, backends: dict[str, Any], tmp_path: Any
) -> None:
    size = 11 * 1024 * 1024 + 123
    source = tmp_path / "big.bin"
    source.write_bytes(bytes(range(256)) * (size // 256) + b"x" * (size % 256))
    config = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    progress: list[int] = []
    lock = threading.Lock()

    def callback(n: int) -> None:
        with lock:
            progress.append(n)

    s3.upload_file(str(source), "data", "raw/big.bin", Callback=callback, Config=config)
    assert sum(progress) == size
    target = backends["lake"].head_object(Bucket="data-lake", Key="main/big.bin")
    assert target["ContentLength"] == size and target["ETag"].endswith('-3"')
    progress.clear()
    dest = tmp_path / "back.bin"
    s3.download_file("data", "raw/big.bin", str(dest), Callback=callback, Config=config)
    assert dest.read_bytes() == source.read_bytes() and sum(progress) == size
    buffer = io.BytesIO()
    s3.download_fileobj("data", "raw/big.bin", buffer)
    assert buffer.getvalue() == source.read_bytes()
    s3.copy({"Bucket": "data", "Key": "raw/big.bin"}, "example-old-bucket", "copied.bin", Config=config)
    assert backends["lake"].head_object(Bucket="example-repo", Key="main/copied.bin")["ContentLength"] == size
    with pytest.raises(s3.exceptions.NoSuchBucket):
        s3.upload_fileobj(io.BytesIO(b"x"), "no-such-bucket", "k")
    with pytest.raises(boto3.exceptions.S3UploadFailedError, match=r"no-such-bucket/k: .*NoSuchBucket"):
        s3.upload_file(str(source), "no-such-bucket", "k")


def test_presigned_post_uploads_under_the_callers_name(s3: Any, backends: dict[str, Any]) -> None:
    post = s3.generate_presigned_post(
        "example-old-bucket", "uploads/${filename}", Conditions=[["starts-with", "$key", "uploads/"]]
    )
    boundary = uuid.uuid4().hex
    fields = [*post["fields"].items(), ("file", None)]
    body = b""
    for name, value in fields:
        body += f"--{boundary}\r\n".encode()
        if value is None:
            body += b'Content-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nposted\r\n'
        else:
            body += f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    body += f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        post["url"],
        data=body,
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 201, 204)
    assert s3.get_object(Bucket="example-old-bucket", Key="uploads/a.txt")["Body"].read() == b"posted"
    assert backends["lake"].head_object(Bucket="example-repo", Key="main/uploads/a.txt")


def test_waiters_and_paginators_go_through_the_routes(s3: Any) -> None:
    s3.put_object(Bucket="data", Key="raw/w", Body=b"")
    s3.get_waiter("object_exists").wait(Bucket="data", Key="raw/w", WaiterConfig={"Delay": 0.1})
    s3.delete_object(Bucket="data", Key="raw/w")
    s3.get_waiter("object_not_exists").wait(Bucket="data", Key="raw/w", WaiterConfig={"Delay": 0.1})
    for i in range(5):
        s3.put_object(Bucket="data", Key=f"raw/p/{i}", Body=b"")
    pages = s3.get_paginator("list_objects").paginate(
        Bucket="data", Prefix="raw/p/", PaginationConfig={"PageSize": 2}
    )
    assert [c["Key"] for page in pages for c in page["Contents"]] == [f"raw/p/{i}" for i in range(5)]


# -- lifecycle and threads -----------------------------------------------------------


def test_close_cascades_once_per_client(backends: dict[str, Any]) -> None:
    shared = backends["s3"]
    s3 = botwo.client(
        {"a": shared, "b": shared, "lake": backends["lake"]},
        [{"bucket_name": "x", "client": "lake"}, {"bucket_name": "*", "client": "a"}],
    )
    closed: list[str] = []
    for name, client in (("s3", shared), ("lake", backends["lake"])):
        original = client.close
        client.close = lambda n=name, o=original: (closed.append(n), o())[1]
    with s3:
        pass
    assert sorted(closed) == ["lake", "s3"]


def test_one_client_shared_between_threads(s3: Any) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(15):
                bucket = ("example-old-bucket", "data", "plain")[(n + i) % 3]
                key = f"raw/t{n}/{i}" if bucket == "data" else f"t{n}/{i}"
                s3.put_object(Bucket=bucket, Key=key, Body=f"{n}:{i}".encode())
                assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == f"{n}:{i}".encode()
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert s3.list_objects_v2(Bucket="data", Prefix="raw/t3/")["KeyCount"] == 5
