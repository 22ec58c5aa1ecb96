"""Copies across backends, over real servers: botwo's client against one plain S3.

The source bucket ``archive`` lives on the ``lake`` server (as ``lake-archive``, keys
under ``main/``) and the destination bucket ``published`` on the ``s3`` server (as
``s3-published``, keys under ``v1/``), so every copy between them is streamed through
this process by :class:`botwo._copy.CrossCopy`. The ``oracle`` server holds the caller's
namespace as one S3 would and does the same copies server-side.
"""

from __future__ import annotations

import datetime
import hashlib
import threading
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

import botwo
from botwo import CopyConfig
from botwo._copy import CrossCopy, _failed_condition, _part_size_for
from botwo._s3 import MAX_PARTS, MIN_PART_SIZE

from .backends import over_sets

MiB = 1024 * 1024
# What the tests over other servers meet (docs/compatibility.md).
UNQUOTED = "RGW, the oracle here, answers a CopyObjectResult ETag unquoted"
BOTH_UNQUOTED = {"moto+rgw": UNQUOTED, "rgw+s3rver": UNQUOTED}

MAPPING: list[dict[str, Any]] = [
    {"bucket_name": "archive", "mapped_bucket_name": "lake-archive", "client": "lake", "key_prefix": "main/"},
    {"bucket_name": "published", "mapped_bucket_name": "s3-published", "client": "s3", "key_prefix": "v1/"},
    # Reads of "mirrored" try s3, then lake (the same target bucket on both).
    {"bucket_name": "mirrored", "mapped_bucket_name": "mirror", "client": "s3", "fallback": ["lake"]},
    # Unused here; a client name of its own keeps it out of the renamed rules' namespaces.
    {"bucket_name": "*", "client": "default"},
]
CALLER_BUCKETS = ("archive", "published")


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cross-backend copies made by botwo clients use 5 MiB parts (S3's minimum), so that
    a few MiB make a multipart copy."""
    defaults = CopyConfig.__init__.__kwdefaults__
    assert defaults is not None
    monkeypatch.setitem(defaults, "part_size", MIN_PART_SIZE)
    monkeypatch.setitem(defaults, "concurrency", 2)


@pytest.fixture
def s3(backends: dict[str, Any]) -> Iterator[Any]:
    backends["lake"].create_bucket(Bucket="lake-archive")
    backends["s3"].create_bucket(Bucket="s3-published")
    for name in ("s3", "lake"):
        backends[name].create_bucket(Bucket="mirror")
    for bucket in CALLER_BUCKETS:
        backends["oracle"].create_bucket(Bucket=bucket)
    yield botwo.client({"s3": backends["s3"], "lake": backends["lake"], "default": backends["s3"]}, MAPPING)


@pytest.fixture
def oracle(backends: dict[str, Any]) -> Any:
    return backends["oracle"]


def never(err: BaseException) -> bool:
    """A falls_back that never falls back."""
    return False


def payload(size: int, seed: int = 0) -> bytes:
    block = hashlib.sha256(str(seed).encode()).digest() * (1 + MiB // 32)
    return (block * (size // len(block) + 1))[:size]


def both(s3: Any, oracle: Any, method: str, **params: Any) -> tuple[Any, Any]:
    """The same call on botwo and on the oracle: each result, or each ClientError."""
    out = []
    for client in (s3, oracle):
        try:
            out.append(getattr(client, method)(**params))
        except ClientError as err:
            out.append(err)
    return out[0], out[1]


def md5_etag(data: bytes) -> str:
    return '"' + hashlib.md5(data).hexdigest() + '"'


class Counter:
    """Counts the requests an underlying client sends, by operation (an event handler)."""

    def __init__(self, client: Any) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        client.meta.events.register("before-send.s3", self)

    def __call__(self, request: Any, event_name: str, **_: Any) -> None:
        with self._lock:
            headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
            self.calls.append((event_name.rsplit(".", 1)[-1], headers))

    def count(self, operation: str) -> int:
        return sum(1 for name, _ in self.calls if name == operation)


OBJECT_ATTRIBUTES = (
    "ContentType",
    "ContentEncoding",
    "ContentDisposition",
    "ContentLanguage",
    "CacheControl",
    "Expires",
    "Metadata",
    "ContentLength",
    "StorageClass",
    "WebsiteRedirectLocation",
    "ServerSideEncryption",
)


def observed(client: Any, bucket: str, key: str) -> dict[str, Any]:
    """What a caller sees of an object: its bytes, attributes and tags."""
    got = client.get_object(Bucket=bucket, Key=key)
    tags = client.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    return {
        "body": got["Body"].read(),
        **{name: got.get(name) for name in OBJECT_ATTRIBUTES},
        "tags": sorted((t["Key"], t["Value"]) for t in tags),
    }


RICH_OBJECT: dict[str, Any] = {
    "ContentType": "text/csv",
    "ContentEncoding": "identity",
    "ContentDisposition": 'attachment; filename="r.csv"',
    "ContentLanguage": "fr",
    "CacheControl": "max-age=60",
    "Expires": datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
    "Metadata": {"origin": "sensor-7", "run": "42"},
    "Tagging": "team=data&tier=cold",
}


# -- where a copy goes, and what it returns --------------------------------------------


@over_sets(BOTH_UNQUOTED)
def test_a_copy_between_backends_is_streamed_to_the_destination(
    s3: Any, oracle: Any, backends: dict[str, Any]
) -> None:
    body = payload(3000)
    for client in (s3, oracle):
        client.put_object(Bucket="archive", Key="in/r.csv", Body=body, **RICH_OBJECT)
    lake_gets = Counter(backends["lake"])
    ours, theirs = both(
        s3, oracle, "copy_object", Bucket="published", Key="out/r.csv", CopySource="archive/in/r.csv"
    )
    # S3's response shape; a one-part copy has the MD5 ETag that a server-side copy has.
    assert set(ours) - {"ResponseMetadata"} == set(theirs) - {"ResponseMetadata"}
    assert ours["CopyObjectResult"]["ETag"] == theirs["CopyObjectResult"]["ETag"] == md5_etag(body)
    assert isinstance(ours["CopyObjectResult"]["LastModified"], datetime.datetime)
    assert ours["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert observed(s3, "published", "out/r.csv") == observed(oracle, "published", "out/r.csv")
    # The bytes went through this process: read from lake, written to s3 in target names.
    assert lake_gets.count("GetObject") == 1 and lake_gets.count("CopyObject") == 0
    target = backends["s3"].get_object(Bucket="s3-published", Key="v1/out/r.csv")
    assert target["Body"].read() == body and target["Metadata"] == RICH_OBJECT["Metadata"]


@over_sets(BOTH_UNQUOTED)
def test_empty_objects_copy(s3: Any, oracle: Any) -> None:
    for client in (s3, oracle):
        client.put_object(Bucket="archive", Key="empty", Body=b"")
    ours, theirs = both(s3, oracle, "copy_object", Bucket="published", Key="e", CopySource="archive/empty")
    assert ours["CopyObjectResult"]["ETag"] == theirs["CopyObjectResult"]["ETag"]
    assert s3.get_object(Bucket="published", Key="e")["Body"].read() == b""


@over_sets(
    {
        "rgw+s3rver": "RGW, the destination, answers CompleteMultipartUpload with an empty ETag, "
        "which botwo passes on"
    }
)
@pytest.mark.usefixtures("small_parts")
def test_a_large_copy_is_a_checked_multipart_upload(s3: Any, backends: dict[str, Any]) -> None:
    body = payload(13 * MiB + 17)
    s3.put_object(Bucket="archive", Key="big.bin", Body=body, **RICH_OBJECT)
    lake, dest = Counter(backends["lake"]), Counter(backends["s3"])
    response = s3.copy_object(
        Bucket="published", Key="big.bin", CopySource={"Bucket": "archive", "Key": "big.bin"}
    )
    assert dest.count("CreateMultipartUpload") == 1 and dest.count("UploadPart") == 3
    assert dest.count("CompleteMultipartUpload") == 1 and dest.count("PutObject") == 0
    # One GET reads the whole source, in order (the default read_streams=1: moto reads a
    # whole object for every ranged GET, so one stream is the cheapest way to read it).
    assert lake.count("GetObject") == 1
    # S3's multipart ETag, which botwo also checks: MD5 of the parts' MD5s, "-3".
    parts = [body[i : i + MIN_PART_SIZE] for i in range(0, len(body), MIN_PART_SIZE)]
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    assert response["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(digests).hexdigest()}-3"'
    got = s3.get_object(Bucket="published", Key="big.bin")
    assert got["Body"].read() == body
    assert got["ContentType"] == "text/csv" and got["Metadata"] == RICH_OBJECT["Metadata"]
    assert s3.get_object_tagging(Bucket="published", Key="big.bin")["TagSet"] == [
        {"Key": "team", "Value": "data"},
        {"Key": "tier", "Value": "cold"},
    ]
    assert "Uploads" not in backends["s3"].list_multipart_uploads(Bucket="s3-published")


@pytest.mark.parametrize("read_streams", [1, 2, 3])
def test_parts_come_from_pinned_ranged_reads(backends: dict[str, Any], read_streams: int) -> None:
    source, dest = backends["lake"], backends["s3"]
    source.create_bucket(Bucket="src")
    dest.create_bucket(Bucket="dst")
    body = payload(4 * MIN_PART_SIZE + 1, seed=read_streams)
    source.put_object(Bucket="src", Key="k", Body=body)
    gets = Counter(source)
    copier = CrossCopy(
        [source],
        dest,
        falls_back=lambda err: False,
        part_size=MIN_PART_SIZE,
        concurrency=3,
        read_streams=read_streams,
    )
    copier.copy_object(Bucket="dst", Key="k", CopySource={"Bucket": "src", "Key": "k"})
    assert dest.get_object(Bucket="dst", Key="k")["Body"].read() == body
    headers = [h for name, h in gets.calls if name == "GetObject"]
    assert len(headers) == read_streams
    etag = source.head_object(Bucket="src", Key="k")["ETag"]
    # The first GET reads from byte 0; every other one is a range pinned to its ETag.
    assert "Range" not in headers[0]
    for h in headers[1:]:
        assert h.get("If-Match") == etag and h.get("Range", "").startswith("bytes="), h


def test_destination_parameters_are_passed_through(s3: Any, oracle: Any) -> None:
    for client in (s3, oracle):
        client.put_object(Bucket="archive", Key="k", Body=b"data", ContentType="text/plain")
    params: dict[str, Any] = {
        "StorageClass": "STANDARD_IA",
        "ServerSideEncryption": "AES256",
        "WebsiteRedirectLocation": "/elsewhere",
    }
    ours, theirs = both(
        s3, oracle, "copy_object", Bucket="published", Key="k", CopySource="archive/k", **params
    )
    assert ours.get("ServerSideEncryption") == theirs.get("ServerSideEncryption") == "AES256"
    assert observed(s3, "published", "k") == observed(oracle, "published", "k")


# -- MetadataDirective and TaggingDirective ----------------------------------------------


@pytest.mark.parametrize("metadata", ["COPY", "REPLACE", None])
@pytest.mark.parametrize("tagging", ["COPY", "REPLACE", None])
def test_directives_match_one_server(s3: Any, oracle: Any, metadata: str | None, tagging: str | None) -> None:
    for client in (s3, oracle):
        client.put_object(Bucket="archive", Key="src", Body=b"payload", **RICH_OBJECT)
    params: dict[str, Any] = {
        "ContentType": "application/json",
        "CacheControl": "no-store",
        "Metadata": {"replaced": "yes"},
        "Tagging": "fresh=1",
    }
    if metadata is not None:
        params["MetadataDirective"] = metadata
    if tagging is not None:
        params["TaggingDirective"] = tagging
    both(s3, oracle, "copy_object", Bucket="published", Key="dst", CopySource="archive/src", **params)
    ours, theirs = observed(s3, "published", "dst"), observed(oracle, "published", "dst")
    assert ours == theirs
    if metadata == "REPLACE":
        assert ours["Metadata"] == {"replaced": "yes"} and ours["ContentType"] == "application/json"
    else:
        assert ours["Metadata"] == RICH_OBJECT["Metadata"] and ours["ContentType"] == "text/csv"
    assert ours["tags"] == (
        [("fresh", "1")] if tagging == "REPLACE" else [("team", "data"), ("tier", "cold")]
    )


def test_an_untagged_source_costs_no_tagging_call(s3: Any, backends: dict[str, Any]) -> None:
    s3.put_object(Bucket="archive", Key="plain", Body=b"x")
    lake = Counter(backends["lake"])
    s3.copy_object(Bucket="published", Key="plain", CopySource="archive/plain")
    assert [name for name, _ in lake.calls] == ["GetObject"]
    assert s3.get_object_tagging(Bucket="published", Key="plain")["TagSet"] == []


# -- CopySourceIf* -------------------------------------------------------------------------


def _conditions(etag: str, modified: datetime.datetime) -> list[tuple[dict[str, Any], bool, str | None]]:
    """(conditions, copy happens, failed condition) as S3 documents them for CopyObject."""
    before, after = modified - datetime.timedelta(days=1), modified + datetime.timedelta(days=1)
    other = '"00000000000000000000000000000000"'
    return [
        ({"CopySourceIfMatch": etag}, True, None),
        ({"CopySourceIfMatch": etag.strip('"')}, True, None),
        ({"CopySourceIfMatch": other}, False, "x-amz-copy-source-If-Match"),
        ({"CopySourceIfNoneMatch": other}, True, None),
        ({"CopySourceIfNoneMatch": etag}, False, "x-amz-copy-source-If-None-Match"),
        ({"CopySourceIfModifiedSince": before}, True, None),
        ({"CopySourceIfModifiedSince": after}, False, "x-amz-copy-source-If-Modified-Since"),
        ({"CopySourceIfUnmodifiedSince": after}, True, None),
        ({"CopySourceIfUnmodifiedSince": before}, False, "x-amz-copy-source-If-Unmodified-Since"),
        # S3: if-match true and if-unmodified-since false: the copy goes ahead.
        ({"CopySourceIfMatch": etag, "CopySourceIfUnmodifiedSince": before}, True, None),
        # S3: if-none-match false and if-modified-since true: 412.
        (
            {"CopySourceIfNoneMatch": etag, "CopySourceIfModifiedSince": before},
            False,
            "x-amz-copy-source-If-None-Match",
        ),
    ]


def test_copy_source_conditions_hold_as_on_s3(s3: Any, oracle: Any, backends: dict[str, Any]) -> None:
    for client in (s3, oracle):
        client.put_object(Bucket="archive", Key="src", Body=b"conditional")
    head = s3.head_object(Bucket="archive", Key="src")
    for i, (conditions, copies, failed) in enumerate(_conditions(head["ETag"], head["LastModified"])):
        key = f"dst{i}"
        ours, theirs = both(
            s3, oracle, "copy_object", Bucket="published", Key=key, CopySource="archive/src", **conditions
        )
        if copies:
            assert not isinstance(ours, ClientError), (conditions, ours)
            assert s3.get_object(Bucket="published", Key=key)["Body"].read() == b"conditional"
            continue
        assert isinstance(ours, s3.exceptions.ClientError), conditions
        assert ours.response["Error"]["Code"] == "PreconditionFailed"
        assert ours.response["Error"]["Condition"] == failed
        assert ours.response["ResponseMetadata"]["HTTPStatusCode"] == 412
        assert "pre-conditions you specified did not hold" in str(ours)
        assert "Contents" not in backends["s3"].list_objects_v2(Bucket="s3-published", Prefix=f"v1/{key}")
        if set(conditions) == {"CopySourceIfNoneMatch"}:
            # moto's server-side copy checks x-amz-copy-source-if-none-match only: compare there.
            assert isinstance(theirs, ClientError)
            assert theirs.response["Error"] == ours.response["Error"]


def test_failed_condition_follows_s3s_precedence() -> None:
    modified = datetime.datetime(2024, 5, 13, 17, 2, 11, 500_000, tzinfo=datetime.UTC)
    head = {"ETag": '"abc"', "LastModified": modified}
    for conditions, copies, failed in _conditions('"abc"', modified.replace(microsecond=0)):
        assert _failed_condition(conditions, head) == (None if copies else failed), conditions
    # HTTP dates have no fraction of a second: a date equal to the second is "not modified".
    assert _failed_condition({"CopySourceIfModifiedSince": modified.replace(microsecond=0)}, head)
    assert _failed_condition({"CopySourceIfUnmodifiedSince": "2024-05-13T17:02:11Z"}, head) is None
    assert _failed_condition({"CopySourceIfMatch": 'W/"abc", "def"'}, head) is None
    assert _failed_condition({"CopySourceIfMatch": "*"}, head) is None


# -- versions --------------------------------------------------------------------------------


def test_a_source_version_is_copied_and_reported(s3: Any, oracle: Any, backends: dict[str, Any]) -> None:
    versioning = {"Status": "Enabled"}
    backends["lake"].put_bucket_versioning(Bucket="lake-archive", VersioningConfiguration=versioning)
    backends["s3"].put_bucket_versioning(Bucket="s3-published", VersioningConfiguration=versioning)
    for bucket in CALLER_BUCKETS:
        oracle.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=versioning)
    first = {c: c.put_object(Bucket="archive", Key="v", Body=b"first")["VersionId"] for c in (s3, oracle)}
    for client in (s3, oracle):
        client.put_object(Bucket="archive", Key="v", Body=b"second")
    results = {}
    for client in (s3, oracle):
        results[client] = (
            client.copy_object(
                Bucket="published",
                Key="old",
                CopySource={"Bucket": "archive", "Key": "v", "VersionId": first[client]},
            ),
            client.copy_object(Bucket="published", Key="new", CopySource="archive/v"),
        )
        assert client.get_object(Bucket="published", Key="old")["Body"].read() == b"first"
        assert client.get_object(Bucket="published", Key="new")["Body"].read() == b"second"
    (old, new), (oracle_old, oracle_new) = results[s3], results[oracle]
    assert old["CopySourceVersionId"] == first[s3]
    assert new["CopySourceVersionId"] == s3.head_object(Bucket="archive", Key="v")["VersionId"]
    assert old["VersionId"] == s3.head_object(Bucket="published", Key="old")["VersionId"]
    assert set(old) == set(oracle_old) and set(new) == set(oracle_new)
    with pytest.raises(s3.exceptions.ClientError) as caught:
        s3.copy_object(
            Bucket="published", Key="x", CopySource={"Bucket": "archive", "Key": "v", "VersionId": "nope"}
        )
    with pytest.raises(ClientError) as expected:
        oracle.copy_object(
            Bucket="published", Key="x", CopySource={"Bucket": "archive", "Key": "v", "VersionId": "nope"}
        )
    assert caught.value.response["Error"]["Code"] == expected.value.response["Error"]["Code"]


# -- upload_part_copy and the managed copy ----------------------------------------------------


@over_sets({name: "RGW, the oracle here, answers a CopyPartResult ETag unquoted" for name in BOTH_UNQUOTED})
def test_upload_part_copy_copies_ranges_across_backends(s3: Any, oracle: Any) -> None:
    body = payload(6 * MiB + 5)
    for client in (s3, oracle):
        client.put_object(Bucket="archive", Key="src", Body=body)
    # The whole object as part 2; S3 wants every part but the last to be 5 MiB or more.
    ranges = [f"bytes=0-{5 * MiB - 1}", None, f"bytes={5 * MiB}-{6 * MiB + 4}"]
    results = {}
    for client in (s3, oracle):
        upload = client.create_multipart_upload(Bucket="published", Key="assembled")
        parts = []
        for number, byte_range in enumerate(ranges, start=1):
            extra = {} if byte_range is None else {"CopySourceRange": byte_range}
            response = client.upload_part_copy(
                Bucket="published",
                Key="assembled",
                UploadId=upload["UploadId"],
                PartNumber=number,
                CopySource={"Bucket": "archive", "Key": "src"},
                **extra,
            )
            parts.append({"PartNumber": number, "ETag": response["CopyPartResult"]["ETag"]})
        results[client] = (response, parts)
        client.complete_multipart_upload(
            Bucket="published", Key="assembled", UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
        )
    (ours, our_parts), (theirs, their_parts) = results[s3], results[oracle]
    assert our_parts == their_parts  # each part's ETag is the MD5 of the same bytes
    assert set(ours["CopyPartResult"]) - {"ChecksumCRC32"} == set(theirs["CopyPartResult"])
    assert isinstance(ours["CopyPartResult"]["LastModified"], datetime.datetime)
    expected = body[: 5 * MiB] + body + body[5 * MiB :]
    assert s3.get_object(Bucket="published", Key="assembled")["Body"].read() == expected


def test_upload_part_copy_refuses_bad_ranges_as_s3(s3: Any) -> None:
    s3.put_object(Bucket="archive", Key="src", Body=b"0123456789")
    upload = s3.create_multipart_upload(Bucket="published", Key="p")
    common = {"Bucket": "published", "Key": "p", "UploadId": upload["UploadId"], "PartNumber": 1}
    for bad, message in (
        ("bytes=5-2", "must be of the form"),
        ("0-4", "must be of the form"),
        ("bytes=2-50", "not valid for source object of size: 10"),
    ):
        with pytest.raises(s3.exceptions.ClientError, match=message) as caught:
            s3.upload_part_copy(CopySource="archive/src", CopySourceRange=bad, **common)
        assert caught.value.response["Error"]["Code"] == "InvalidArgument"
    s3.abort_multipart_upload(Bucket="published", Key="p", UploadId=upload["UploadId"])


def test_the_managed_copy_runs_parallel_parts_with_progress(s3: Any, backends: dict[str, Any]) -> None:
    size = 12 * MiB + 3
    body = payload(size)
    s3.put_object(Bucket="archive", Key="big", Body=body)
    dest = Counter(backends["s3"])
    progress: list[int] = []
    lock = threading.Lock()

    def callback(n: int) -> None:
        with lock:
            progress.append(n)

    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=3)
    s3.copy({"Bucket": "archive", "Key": "big"}, "published", "copied", Callback=callback, Config=config)
    assert sum(progress) == size
    assert dest.count("UploadPart") == 3 and dest.count("CompleteMultipartUpload") == 1
    head = backends["s3"].head_object(Bucket="s3-published", Key="v1/copied")
    assert head["ContentLength"] == size and head["ETag"].endswith('-3"')
    assert s3.get_object(Bucket="published", Key="copied")["Body"].read() == body
    # Below the threshold: one copy_object.
    progress.clear()
    s3.copy({"Bucket": "archive", "Key": "big"}, "published", "whole", Callback=callback)
    assert sum(progress) == size
    assert s3.get_object(Bucket="published", Key="whole")["Body"].read() == body


# -- sources that fall back ---------------------------------------------------------------------


def test_a_fallback_source_is_read_when_the_first_lacks_the_key(s3: Any, backends: dict[str, Any]) -> None:
    # "mirrored" reads s3's "mirror" first (the destination's own client: a server-side
    # copy), then lake's: a key only on lake is streamed from there.
    backends["lake"].put_object(Bucket="mirror", Key="only-lake", Body=b"from lake")
    backends["s3"].put_object(Bucket="mirror", Key="both", Body=b"from s3")
    backends["lake"].put_object(Bucket="mirror", Key="both", Body=b"stale lake copy")
    lake = Counter(backends["lake"])
    s3.copy_object(Bucket="published", Key="a", CopySource="mirrored/only-lake")
    assert s3.get_object(Bucket="published", Key="a")["Body"].read() == b"from lake"
    assert lake.count("GetObject") == 1
    lake.calls.clear()
    s3.copy_object(Bucket="published", Key="b", CopySource="mirrored/both")
    assert s3.get_object(Bucket="published", Key="b")["Body"].read() == b"from s3"
    assert lake.calls == []  # served by s3's own server-side copy
    with pytest.raises(s3.exceptions.NoSuchKey) as caught:
        s3.copy_object(Bucket="published", Key="c", CopySource="mirrored/nowhere")
    assert caught.value.response["Error"]["Key"] == "nowhere"


def test_crosscopy_tries_sources_in_order(backends: dict[str, Any]) -> None:
    first, second, dest = backends["oracle"], backends["lake"], backends["s3"]
    for client in (first, second, dest):
        client.create_bucket(Bucket="bkt")
    second.put_object(Bucket="bkt", Key="k", Body=b"second")

    def not_found(err: BaseException) -> bool:
        return isinstance(err, ClientError) and err.response["Error"]["Code"] in ("NoSuchKey", "404")

    CrossCopy([first, second], dest, falls_back=not_found).copy_object(
        Bucket="bkt", Key="k", CopySource={"Bucket": "bkt", "Key": "k"}
    )
    assert dest.get_object(Bucket="bkt", Key="k")["Body"].read() == b"second"
    # Not a fall-back error: the first source's answer is the answer.
    with pytest.raises(ClientError) as caught:
        CrossCopy([first, second], dest, falls_back=lambda err: False).copy_object(
            Bucket="bkt", Key="k2", CopySource={"Bucket": "bkt", "Key": "k"}
        )
    assert caught.value.response["Error"]["Code"] == "NoSuchKey"
    # No source has it: the first one's "not found".
    with pytest.raises(ClientError) as caught:
        CrossCopy([first, second], dest, falls_back=not_found).copy_object(
            Bucket="bkt", Key="k3", CopySource={"Bucket": "bkt", "Key": "missing"}
        )
    assert caught.value.response["Error"]["Code"] == "NoSuchKey"


# -- errors in the caller's names ---------------------------------------------------------------


def test_a_missing_source_is_reported_with_the_callers_names(
    s3: Any, oracle: Any, backends: dict[str, Any]
) -> None:
    ours, theirs = both(s3, oracle, "copy_object", Bucket="published", Key="k", CopySource="archive/no/such")
    assert isinstance(ours, s3.exceptions.NoSuchKey)
    assert isinstance(theirs, ClientError)
    assert (
        ours.response["Error"]
        == theirs.response["Error"]
        == {
            "Code": "NoSuchKey",
            "Message": "The specified key does not exist.",
            "Key": "no/such",
        }
    )
    assert "main/" not in str(ours) and "lake-archive" not in str(ours)
    # The caller called CopyObject (botwo's GetObject of the source is not its call).
    assert ours.operation_name == theirs.operation_name == "CopyObject"
    assert str(ours) == str(theirs)
    backends["lake"].delete_bucket(Bucket="lake-archive")
    oracle.delete_bucket(Bucket="archive")
    ours, theirs = both(s3, oracle, "copy_object", Bucket="published", Key="k", CopySource="archive/x")
    assert isinstance(ours, s3.exceptions.NoSuchBucket)
    assert ours.response["Error"] == theirs.response["Error"]
    assert ours.response["Error"]["BucketName"] == "archive"
    assert "Contents" not in backends["s3"].list_objects_v2(Bucket="s3-published")


def test_a_missing_destination_bucket_is_the_callers(s3: Any, backends: dict[str, Any]) -> None:
    s3.put_object(Bucket="archive", Key="k", Body=b"1")
    backends["s3"].delete_bucket(Bucket="s3-published")
    with pytest.raises(s3.exceptions.NoSuchBucket) as caught:
        s3.copy_object(Bucket="published", Key="k", CopySource="archive/k")
    assert caught.value.response["Error"]["BucketName"] == "published"


# -- settings -------------------------------------------------------------------------------------


def test_settings_are_checked(backends: dict[str, Any]) -> None:
    client = backends["s3"]
    with pytest.raises(ValueError, match="part_size must be between"):
        CrossCopy([client], client, falls_back=never, part_size=MIN_PART_SIZE - 1)
    with pytest.raises(ValueError, match="concurrency and read_streams"):
        CrossCopy([client], client, falls_back=never, concurrency=0)
    with pytest.raises(ValueError, match="at least one source"):
        CrossCopy([], client, falls_back=never)


def test_part_size_grows_to_stay_within_10000_parts() -> None:
    assert _part_size_for(1024 * MiB, 8 * MiB) == 8 * MiB
    assert _part_size_for(MAX_PARTS * 8 * MiB, 8 * MiB) == 8 * MiB
    five_tib = 5 * 1024 * 1024 * MiB
    grown = _part_size_for(five_tib, 8 * MiB)
    assert grown % MiB == 0 and -(-five_tib // grown) <= MAX_PARTS and grown < 2 * five_tib // MAX_PARTS


def test_memory_is_bounded_by_the_settings(backends: dict[str, Any]) -> None:
    """At most concurrency + read_streams parts are in memory, whatever the object's size."""
    source, dest = backends["lake"], backends["s3"]
    source.create_bucket(Bucket="src")
    dest.create_bucket(Bucket="dst")
    size = 8 * MIN_PART_SIZE
    source.put_object(Bucket="src", Key="k", Body=payload(size))
    copier = CrossCopy(
        [source], dest, falls_back=never, part_size=MIN_PART_SIZE, concurrency=2, read_streams=1
    )
    tracemalloc.start()
    try:
        copier.copy_object(Bucket="dst", Key="k", CopySource={"Bucket": "src", "Key": "k"})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert dest.head_object(Bucket="dst", Key="k")["ContentLength"] == size
    # 3 part buffers, plus the chunk being read and what botocore holds meanwhile.
    assert 3 * MIN_PART_SIZE <= peak < 4 * MIN_PART_SIZE, peak / MiB


def test_copy_config_sets_the_parts_of_a_streamed_copy(backends: dict[str, Any]) -> None:
    backends["lake"].create_bucket(Bucket="lake-archive")
    backends["s3"].create_bucket(Bucket="s3-published")
    config = botwo.CopyConfig(part_size=6 * MiB, concurrency=3)
    clients = {"s3": backends["s3"], "lake": backends["lake"], "default": backends["s3"]}
    client = botwo.client(clients, MAPPING, copy_config=config)
    client.put_object(Bucket="archive", Key="k", Body=payload(13 * MiB))
    dest = Counter(backends["s3"])
    client.copy_object(Bucket="published", Key="k", CopySource="archive/k")
    assert dest.count("UploadPart") == 3  # 6 + 6 + 1 MiB
    for bad in ({"part_size": MiB}, {"concurrency": 0}, {"read_streams": "2"}):
        with pytest.raises(botwo.ConfigError, match="CopyConfig"):
            botwo.CopyConfig(**bad)
    with pytest.raises(botwo.ConfigError, match="copy_config"):
        botwo.client(
            {"s3": backends["s3"]}, [{"bucket_name": "*", "client": "s3"}], copy_config={"part_size": 1}
        )
