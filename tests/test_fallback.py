"""Fallback reads: a read the rule's client cannot serve is asked of each fallback in order.

Three servers play three stores of one namespace: ``lake`` is the rule's own client (the
new store), ``s3`` the store being migrated from, and ``archive`` (the ``oracle`` fixture
server, used here as a third backend) an older tier behind it. A fallback holds the same
target bucket and keys as the rule's client.

Reads move on when a client says "not here" (``NoSuchKey``, ``NoSuchBucket``,
``NoSuchVersion``, a bare 404) and, with ``fallback_on_unreachable``, when it cannot be
reached. Any other answer is final. Writes go to the rule's own client only, so a key
that exists only in a fallback can be overwritten (the new copy shadows the old) and
deleted (the old copy shows through again): a read-through cache's behaviour, documented
in docs/rules.md.
"""

from __future__ import annotations

import io
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

import botwo
from botwo.testing import LocalS3Server

from .recorder import Sent

MAPPING: list[dict[str, Any]] = [
    # A read-through fallback to the stores being migrated from, in order.
    {"bucket_name": "media", "client": "lake", "fallback": ["s3", "archive"]},
    # Renamed: errors and URLs must still speak the caller's names.
    {
        "bucket_name": "photos",
        "mapped_bucket_name": "photos-v2",
        "key_prefix": "main/",
        "client": "lake",
        "fallback": ["s3"],
    },
    {"bucket_name": "*", "client": "s3"},
]


@pytest.fixture
def stores(backends: dict[str, Any]) -> dict[str, Any]:
    """The three stores as botwo names them, each with a ``media`` bucket."""
    named = {"lake": backends["lake"], "s3": backends["s3"], "archive": backends["oracle"]}
    for client in named.values():
        client.create_bucket(Bucket="media")
    return named


@pytest.fixture
def s3(stores: dict[str, Any]) -> Iterator[Any]:
    client = botwo.client(stores, MAPPING)
    yield client
    client.close()


def body(response: dict[str, Any]) -> bytes:
    data: bytes = response["Body"].read()
    return data


def fetch(url: str, method: str = "GET") -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


# -- order ---------------------------------------------------------------------------------


def test_reads_try_the_client_then_each_fallback_in_order(s3: Any, stores: dict[str, Any]) -> None:
    # "all" everywhere, "old" in s3 and the archive, "oldest" in the archive only.
    for name, keys in {"lake": ["all"], "s3": ["all", "old"], "archive": ["all", "old", "oldest"]}.items():
        for key in keys:
            stores[name].put_object(
                Bucket="media", Key=key, Body=f"{key} from {name}".encode(), Tagging=f"store={name}"
            )
    expected = {"all": "lake", "old": "s3", "oldest": "archive"}
    for key, store in expected.items():
        assert body(s3.get_object(Bucket="media", Key=key)) == f"{key} from {store}".encode()
        head = s3.head_object(Bucket="media", Key=key)
        assert head["ContentLength"] == len(f"{key} from {store}")
        assert s3.get_object_tagging(Bucket="media", Key=key)["TagSet"] == [{"Key": "store", "Value": store}]
        attributes = s3.get_object_attributes(
            Bucket="media", Key=key, ObjectAttributes=["ETag", "ObjectSize"]
        )
        assert attributes["ETag"] == head["ETag"].strip('"')
        assert s3.get_object_acl(Bucket="media", Key=key)["Grants"]
        assert body(s3.get_object(Bucket="media", Key=key, Range="bytes=0-2")) == key.encode()[:3]


def test_select_object_content_falls_back(s3: Any, stores: dict[str, Any]) -> None:
    stores["archive"].put_object(Bucket="media", Key="t.csv", Body=b"a,b\n1,2\n")
    response = s3.select_object_content(
        Bucket="media",
        Key="t.csv",
        Expression="select * from s3object",
        ExpressionType="SQL",
        InputSerialization={"CSV": {}},
        OutputSerialization={"CSV": {}},
    )
    records = b"".join(e["Records"]["Payload"] for e in response["Payload"] if "Records" in e)
    assert records.startswith(b"a,b\n1,2\n")


def test_tools_built_on_reads_fall_back_too(s3: Any, stores: dict[str, Any], tmp_path: Path) -> None:
    stores["archive"].put_object(Bucket="media", Key="clip.bin", Body=b"c" * 4096)
    s3.get_waiter("object_exists").wait(Bucket="media", Key="clip.bin")
    target = tmp_path / "clip.bin"
    s3.download_file("media", "clip.bin", str(target))  # s3transfer: a head, then gets
    assert target.read_bytes() == b"c" * 4096
    buffer = io.BytesIO()
    s3.download_fileobj("media", "clip.bin", buffer)
    assert buffer.getvalue() == b"c" * 4096


# -- what is an answer -----------------------------------------------------------------------


def test_when_no_client_has_it_the_first_clients_error_is_raised(s3: Any, stores: dict[str, Any]) -> None:
    stores["archive"].delete_bucket(Bucket="media")  # the last one has no such bucket, even
    sent = Sent(stores)
    with pytest.raises(s3.exceptions.NoSuchKey) as caught:
        s3.get_object(Bucket="media", Key="nowhere")
    err = caught.value
    assert sent.clients() == ["lake", "s3", "archive"]  # every one was asked, in order
    assert err.response["Error"]["Key"] == "nowhere"
    assert err.botwo_route.client == "lake"
    assert isinstance(err.__cause__, stores["lake"].exceptions.NoSuchKey)  # lake's, not the archive's
    with pytest.raises(ClientError) as head:
        s3.head_object(Bucket="media", Key="nowhere")
    assert head.value.response["Error"]["Code"] == "404"
    assert head.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_a_missing_version_falls_back(s3: Any, stores: dict[str, Any]) -> None:
    stores["s3"].put_bucket_versioning(Bucket="media", VersioningConfiguration={"Status": "Enabled"})
    version = stores["s3"].put_object(Bucket="media", Key="v", Body=b"old version")["VersionId"]
    stores["lake"].put_object(Bucket="media", Key="v", Body=b"new, unversioned")
    assert body(s3.get_object(Bucket="media", Key="v")) == b"new, unversioned"
    # lake has the key but not that version (NoSuchVersion): s3 has it.
    assert body(s3.get_object(Bucket="media", Key="v", VersionId=version)) == b"old version"


def test_other_errors_are_the_answer_and_do_not_fall_back(s3: Any, stores: dict[str, Any]) -> None:
    stores["lake"].put_object(Bucket="media", Key="k", Body=b"lake's")
    etag = stores["s3"].put_object(Bucket="media", Key="k", Body=b"s3's")["ETag"]
    sent = Sent(stores)
    # lake has k, with another ETag: PreconditionFailed is the answer, though s3's matches.
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket="media", Key="k", IfMatch=etag)
    assert caught.value.response["Error"]["Code"] == "PreconditionFailed"
    assert sent.clients() == ["lake"]
    # A bucket-level read: lake's bucket has no tags (NoSuchTagSet), s3's has some.
    stores["s3"].put_bucket_tagging(Bucket="media", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    sent.clear()
    with pytest.raises(ClientError) as caught:
        s3.get_bucket_tagging(Bucket="media")
    assert caught.value.response["Error"]["Code"] == "NoSuchTagSet"
    assert caught.value.response["Error"]["BucketName"] == "media"
    assert sent.clients() == ["lake"]


# -- writes ----------------------------------------------------------------------------------


def test_writes_go_to_the_rules_client_only(s3: Any, stores: dict[str, Any]) -> None:
    stores["s3"].put_object(Bucket="media", Key="legacy.txt", Body=b"from the old store")
    sent = Sent(stores)
    s3.put_object(Bucket="media", Key="fresh.txt", Body=b"new")
    s3.put_object(Bucket="media", Key="legacy.txt", Body=b"rewritten")
    s3.put_object_tagging(Bucket="media", Key="fresh.txt", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    upload = s3.create_multipart_upload(Bucket="media", Key="big.bin")["UploadId"]
    s3.abort_multipart_upload(Bucket="media", Key="big.bin", UploadId=upload)
    s3.delete_objects(Bucket="media", Delete={"Objects": [{"Key": "fresh.txt"}, {"Key": "gone"}]})
    assert set(sent.clients()) == {"lake"}
    # A write of a key that only a fallback has does not fall back either.
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.put_object_tagging(Bucket="media", Key="only-old", Tagging={"TagSet": []})
    assert set(sent.clients()) == {"lake"}
    assert "Contents" not in stores["archive"].list_objects_v2(Bucket="media")


def test_a_key_only_in_a_fallback_reads_through_overwrites_and_deletes(
    s3: Any, stores: dict[str, Any]
) -> None:
    """Read-through: the rule's client shadows the fallbacks; a delete there uncovers them."""
    stores["s3"].put_object(Bucket="media", Key="report.csv", Body=b"v1 (old store)")
    assert body(s3.get_object(Bucket="media", Key="report.csv")) == b"v1 (old store)"
    s3.put_object(Bucket="media", Key="report.csv", Body=b"v2 (new store)")
    assert body(s3.get_object(Bucket="media", Key="report.csv")) == b"v2 (new store)"
    s3.delete_object(Bucket="media", Key="report.csv")  # deletes lake's copy only
    assert body(stores["s3"].get_object(Bucket="media", Key="report.csv")) == b"v1 (old store)"
    assert body(s3.get_object(Bucket="media", Key="report.csv")) == b"v1 (old store)"
    # Deleting a key that only the fallback has is a no-op on lake (S3's delete of a
    # missing key succeeds): the key stays readable.
    s3.delete_object(Bucket="media", Key="report.csv")
    s3.delete_objects(Bucket="media", Delete={"Objects": [{"Key": "report.csv"}]})
    assert body(s3.get_object(Bucket="media", Key="report.csv")) == b"v1 (old store)"


# -- buckets ---------------------------------------------------------------------------------


def test_a_bucket_missing_on_the_client_falls_back(s3: Any, stores: dict[str, Any]) -> None:
    # photos-v2 exists only on s3 (lake has no such bucket: NoSuchBucket, then s3).
    stores["s3"].create_bucket(Bucket="photos-v2")
    stores["s3"].put_object(Bucket="photos-v2", Key="main/cat.jpg", Body=b"meow")
    stores["s3"].put_bucket_tagging(Bucket="photos-v2", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    assert body(s3.get_object(Bucket="photos", Key="cat.jpg")) == b"meow"
    head = s3.head_object(Bucket="photos", Key="cat.jpg")
    assert head["ContentLength"] == 4
    assert s3.head_bucket(Bucket="photos")["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.get_bucket_tagging(Bucket="photos")["TagSet"] == [{"Key": "k", "Value": "v"}]
    assert s3.get_bucket_location(Bucket="photos")["ResponseMetadata"]["HTTPStatusCode"] == 200
    # A write still goes to lake, which has no such bucket: the caller's name in the error.
    with pytest.raises(s3.exceptions.NoSuchBucket) as caught:
        s3.put_object(Bucket="photos", Key="dog.jpg", Body=b"woof")
    assert caught.value.response["Error"]["BucketName"] == "photos"


def test_a_bucket_that_exists_in_a_fallback_exists_for_the_caller(s3: Any, stores: dict[str, Any]) -> None:
    stores["s3"].create_bucket(Bucket="photos-v2")
    s3.head_bucket(Bucket="photos")  # the bucket exists, as one S3 would say
    with pytest.raises(s3.exceptions.NoSuchKey) as caught:  # so a missing key in it is NoSuchKey
        s3.get_object(Bucket="photos", Key="missing.jpg")
    # That answer is s3's (lake has no such bucket): the error says so.
    record = botwo.served(caught.value)
    assert record is not None and record.client == "s3" and record.route.client == "lake"
    assert "-> client 'lake' -> fallback client 's3', target s3://photos-v2/main/missing.jpg" in (
        caught.value.__notes__[0]
    )


def test_errors_name_the_callers_bucket_and_key(s3: Any, stores: dict[str, Any]) -> None:
    stores["lake"].create_bucket(Bucket="photos-v2")
    stores["s3"].create_bucket(Bucket="photos-v2")
    with pytest.raises(s3.exceptions.NoSuchKey) as caught:
        s3.get_object(Bucket="photos", Key="a b/ü.jpg")
    err = caught.value
    assert err.response["Error"]["Key"] == "a b/ü.jpg"
    assert "photos-v2" not in str(err.response["Error"]) and "main/" not in str(err.response["Error"])
    assert err.__cause__.response["Error"]["Key"] == "main/a b/ü.jpg"  # the target's, chained
    stores["lake"].delete_bucket(Bucket="photos-v2")
    stores["s3"].delete_bucket(Bucket="photos-v2")
    with pytest.raises(s3.exceptions.NoSuchBucket) as caught:
        s3.get_object(Bucket="photos", Key="x")
    assert caught.value.response["Error"]["BucketName"] == "photos"
    assert "photos-v2" not in str(caught.value)
    with pytest.raises(s3.exceptions.NoSuchBucket) as caught:
        s3.get_bucket_tagging(Bucket="photos")
    assert caught.value.response["Error"]["BucketName"] == "photos"


# -- presigned GETs ------------------------------------------------------------------------


def test_a_presigned_get_is_signed_by_the_first_client_that_has_the_object(
    s3: Any, stores: dict[str, Any]
) -> None:
    stores["lake"].put_object(Bucket="media", Key="new.txt", Body=b"on lake")
    stores["archive"].put_object(Bucket="media", Key="old.txt", Body=b"in the archive")
    for key, store, expected in [("new.txt", "lake", b"on lake"), ("old.txt", "archive", b"in the archive")]:
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "media", "Key": key})
        assert url.startswith(stores[store].meta.endpoint_url + "/")
        assert fetch(url) == (200, expected)
    # Nobody has it: signed by the rule's own client, which says 404 when fetched.
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "media", "Key": "none"})
    assert url.startswith(stores["lake"].meta.endpoint_url + "/")
    assert fetch(url)[0] == 404
    # A renamed route: the URL carries the target's names, as for every presigned URL.
    stores["s3"].create_bucket(Bucket="photos-v2")
    stores["s3"].put_object(Bucket="photos-v2", Key="main/a b.jpg", Body=b"jpeg")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "photos", "Key": "a b.jpg"})
    assert url.startswith(stores["s3"].meta.endpoint_url + "/")
    assert urllib.parse.urlsplit(url).path == "/photos-v2/main/a%20b.jpg"
    assert fetch(url) == (200, b"jpeg")
    head = s3.generate_presigned_url("head_object", Params={"Bucket": "media", "Key": "old.txt"})
    assert head.startswith(stores["archive"].meta.endpoint_url + "/")
    assert fetch(head, "HEAD")[0] == 200


def test_an_error_finding_the_presigned_objects_client_is_botwos(s3: Any, stores: dict[str, Any]) -> None:
    # The HEAD that finds the client answers 400 (a malformed version id): that error,
    # not a backend client's own class, reaches the caller, with the route attached.
    stores["lake"].put_object(Bucket="media", Key="new.txt", Body=b"on lake")
    with pytest.raises(s3.exceptions.ClientError) as caught:
        s3.generate_presigned_url(
            "get_object", Params={"Bucket": "media", "Key": "new.txt", "VersionId": "x"}
        )
    err = caught.value
    assert isinstance(err.__cause__, stores["lake"].exceptions.ClientError)  # the backend's, chained
    assert err.response["Error"]["Code"] == "400" and err.operation_name == "GetObject"
    assert err.botwo_route.client == "lake"  # type: ignore[attr-defined]


def test_a_presigned_write_is_signed_by_the_rules_client(s3: Any, stores: dict[str, Any]) -> None:
    stores["archive"].put_object(Bucket="media", Key="old.txt", Body=b"in the archive")
    for method in ("put_object", "delete_object"):
        url = s3.generate_presigned_url(method, Params={"Bucket": "media", "Key": "old.txt"})
        assert url.startswith(stores["lake"].meta.endpoint_url + "/"), method
    post = s3.generate_presigned_post("media", "old.txt")
    assert post["url"].startswith(stores["lake"].meta.endpoint_url)


def test_a_presigned_read_turned_into_a_write_is_signed_by_the_rules_client(
    s3: Any, stores: dict[str, Any]
) -> None:
    stores["archive"].put_object(Bucket="media", Key="old.txt", Body=b"in the archive")
    for http_method in ("PUT", "DELETE"):
        url = s3.generate_presigned_url(
            "get_object", Params={"Bucket": "media", "Key": "old.txt"}, HttpMethod=http_method
        )
        assert url.startswith(stores["lake"].meta.endpoint_url + "/"), http_method


# -- unreachable clients -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def unreachable() -> Any:
    """A boto3 client for a server that was started and stopped: connections are refused.

    One attempt and a short connect timeout: the error comes at once.
    """
    server = LocalS3Server("gone").start()
    config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, connect_timeout=1)
    client = server.client(config=config)
    server.stop()
    return client


def _over_unreachable(stores: dict[str, Any], unreachable: Any, *, on_unreachable: bool) -> Any:
    return botwo.client(
        {**stores, "gone": unreachable},
        [
            # The primary is down.
            {
                "bucket_name": "media",
                "client": "gone",
                "fallback": ["lake"],
                "fallback_on_unreachable": on_unreachable,
            },
            # A fallback is down.
            {
                "bucket_name": "clips",
                "client": "lake",
                "fallback": ["gone", "s3"],
                "fallback_on_unreachable": on_unreachable,
            },
            {"bucket_name": "*", "client": "s3"},
        ],
    )


def test_with_fallback_on_unreachable_a_read_skips_a_client_that_is_down(
    stores: dict[str, Any], unreachable: Any
) -> None:
    s3 = _over_unreachable(stores, unreachable, on_unreachable=True)
    stores["lake"].put_object(Bucket="media", Key="k", Body=b"lake's")
    for name in ("lake", "s3"):
        stores[name].create_bucket(Bucket="clips")
    stores["s3"].put_object(Bucket="clips", Key="c", Body=b"s3's")
    assert body(s3.get_object(Bucket="media", Key="k")) == b"lake's"
    assert s3.head_object(Bucket="media", Key="k")["ContentLength"] == 6
    assert body(s3.get_object(Bucket="clips", Key="c")) == b"s3's"  # past the one that is down
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "media", "Key": "k"})
    assert url.startswith(stores["lake"].meta.endpoint_url + "/")
    assert fetch(url) == (200, b"lake's")
    # Not found anywhere that answered: the first answer that is an error, in caller names.
    with pytest.raises(s3.exceptions.NoSuchKey) as caught:
        s3.get_object(Bucket="media", Key="missing")
    assert caught.value.response["Error"]["Key"] == "missing"
    with pytest.raises(s3.exceptions.NoSuchKey) as caught:
        s3.get_object(Bucket="clips", Key="missing")
    assert isinstance(caught.value.__cause__, stores["lake"].exceptions.NoSuchKey)
    # Writes do not fall back: the primary is down, so is the write.
    with pytest.raises(EndpointConnectionError):
        s3.put_object(Bucket="media", Key="k", Body=b"x")


def test_without_fallback_on_unreachable_a_client_that_is_down_is_an_error(
    stores: dict[str, Any], unreachable: Any
) -> None:
    s3 = _over_unreachable(stores, unreachable, on_unreachable=False)
    stores["lake"].put_object(Bucket="media", Key="k", Body=b"lake's")
    for name in ("lake", "s3"):
        stores[name].create_bucket(Bucket="clips")
    stores["s3"].put_object(Bucket="clips", Key="c", Body=b"s3's")
    with pytest.raises(EndpointConnectionError):  # botocore's own class
        s3.get_object(Bucket="media", Key="k")
    # lake says "not here", the next one is down: that is the answer, not s3's copy.
    with pytest.raises(EndpointConnectionError) as caught:
        s3.get_object(Bucket="clips", Key="c")
    # The error names the client that failed: the fallback, not the rule's own client.
    record = botwo.served(caught.value)
    assert record is not None and (record.client, record.route.client) == ("gone", "lake")
    assert caught.value.__notes__ == [
        "botwo: get_object(Bucket='clips', Key='c') through rule 1 (bucket_name='clips') "
        "-> client 'lake' -> fallback client 'gone' failed before S3 answered"
    ]
    # A key lake has is served without asking the others.
    stores["lake"].put_object(Bucket="clips", Key="c", Body=b"lake's")
    assert body(s3.get_object(Bucket="clips", Key="c")) == b"lake's"
