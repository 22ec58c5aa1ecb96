"""S3's documented behaviour, checked on each test server directly (no botwo).

One check per behaviour a client can see, on moto, on Ceph's RADOS gateway and on s3rver.
Where a server deviates from S3 the case is a strict xfail whose reason names the
deviation (docs/compatibility.md lists them, with what botwo does about each): a server
that is fixed makes its case pass, and fail loudly, until the mark goes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from botwo.testing import LocalS3rver

BUCKET = "compat"
SERVERS = ("moto", "rgw", "s3rver")


@pytest.fixture
def client(request: pytest.FixtureRequest, kind: str) -> Any:
    if kind == "moto":
        server: Any = request.getfixturevalue("servers")["oracle"]
    elif kind == "rgw":
        server = request.getfixturevalue("rgw").user("compat")
    else:
        pool = request.getfixturevalue("s3rvers")
        if "compat" not in pool:
            pool["compat"] = LocalS3rver("compat").start()
        server = pool["compat"]
    server.reset()
    made = server.client()
    made.create_bucket(Bucket=BUCKET)
    return made


def code(call: Callable[[], Any]) -> str:
    try:
        call()
    except ClientError as err:
        return str(err.response["Error"]["Code"])
    return "ok"


def head_bucket_names_the_region(c: Any) -> None:
    # HeadBucket: "x-amz-bucket-region" on every answer.
    assert c.head_bucket(Bucket=BUCKET)["BucketRegion"] == "us-east-1"


def create_bucket_answers_its_location(c: Any) -> None:
    assert c.create_bucket(Bucket="compat-2").get("Location") == "/compat-2"


def us_east_1_has_no_location_constraint(c: Any) -> None:
    # GetBucketLocation: "Buckets in Region us-east-1 have a LocationConstraint of null."
    assert c.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] is None


def errors_carry_a_message_and_the_key(c: Any) -> None:
    with pytest.raises(ClientError) as caught:
        c.get_object(Bucket=BUCKET, Key="missing")
    error = caught.value.response["Error"]
    assert error["Code"] == "NoSuchKey"
    assert error.get("Message")
    assert error.get("Key") == "missing"


def copy_object_etag_is_quoted(c: Any) -> None:
    put = c.put_object(Bucket=BUCKET, Key="src", Body=b"data")
    copied = c.copy_object(Bucket=BUCKET, Key="dst", CopySource=f"{BUCKET}/src")
    assert copied["CopyObjectResult"]["ETag"] == put["ETag"]
    assert put["ETag"].startswith('"')


def a_missing_unicode_key_is_no_such_key(c: Any) -> None:
    source = {"Bucket": BUCKET, "Key": "dir/ü"}
    assert code(lambda: c.copy_object(Bucket=BUCKET, Key="dst", CopySource=source)) == "NoSuchKey"
    assert code(lambda: c.get_object_tagging(Bucket=BUCKET, Key="dir/ü")) == "NoSuchKey"
    assert code(lambda: c.get_object(Bucket=BUCKET, Key="dir/ü", Range="bytes=2-")) == "NoSuchKey"


def a_key_with_a_question_mark_is_copied(c: Any) -> None:
    c.put_object(Bucket=BUCKET, Key="what?/x", Body=b"data")
    c.copy_object(Bucket=BUCKET, Key="dst", CopySource={"Bucket": BUCKET, "Key": "what?/x"})
    assert c.get_object(Bucket=BUCKET, Key="dst")["Body"].read() == b"data"


def tag_values_keep_their_spaces(c: Any) -> None:
    c.put_object(Bucket=BUCKET, Key="k", Body=b"")
    c.put_object_tagging(Bucket=BUCKET, Key="k", Tagging={"TagSet": [{"Key": "a", "Value": " x "}]})
    assert c.get_object_tagging(Bucket=BUCKET, Key="k")["TagSet"] == [{"Key": "a", "Value": " x "}]


def v1_prefix_before_the_marker_is_not_listed(c: Any) -> None:
    # ListObjects: CommonPrefixes, like keys, are the ones after the Marker (as
    # ListObjectsV2 answers for StartAfter).
    c.put_object(Bucket=BUCKET, Key="raw/what/x", Body=b"")
    page = c.list_objects(Bucket=BUCKET, Prefix="raw", Delimiter="/", Marker="raw/b")
    assert "CommonPrefixes" not in page


def copy_object_copies_tags(c: Any) -> None:
    c.put_object(Bucket=BUCKET, Key="src", Body=b"data", Tagging="a=1")
    c.copy_object(Bucket=BUCKET, Key="dst", CopySource=f"{BUCKET}/src")
    assert c.get_object_tagging(Bucket=BUCKET, Key="dst")["TagSet"] == [{"Key": "a", "Value": "1"}]


def copy_object_replaces_tags(c: Any) -> None:
    c.put_object(Bucket=BUCKET, Key="src", Body=b"data", Tagging="a=1")
    c.copy_object(
        Bucket=BUCKET, Key="dst", CopySource=f"{BUCKET}/src", TaggingDirective="REPLACE", Tagging="b=2"
    )
    assert c.get_object_tagging(Bucket=BUCKET, Key="dst")["TagSet"] == [{"Key": "b", "Value": "2"}]


def get_object_counts_tags(c: Any) -> None:
    # GetObject: "x-amz-tagging-count" when the object has tags.
    c.put_object(Bucket=BUCKET, Key="k", Body=b"data", Tagging="a=1&b=2")
    assert c.get_object(Bucket=BUCKET, Key="k")["TagCount"] == 2


def suffix_range_reads_the_end(c: Any) -> None:
    c.put_object(Bucket=BUCKET, Key="k", Body=b"0123456789")
    got = c.get_object(Bucket=BUCKET, Key="k", Range="bytes=-2")
    assert (got["Body"].read(), got["ContentRange"]) == (b"89", "bytes 8-9/10")


def listings_are_in_byte_order(c: Any) -> None:
    # ListObjectsV2: "objects are returned sorted in an ascending order of the respective
    # key names" (UTF-8 bytes: "-" 0x2D before "/" 0x2F).
    keys = ["raw/a/b", "raw/a-b", "raw/a b", "raw/ü"]
    for key in keys:
        c.put_object(Bucket=BUCKET, Key=key, Body=b"")
    listed = [o["Key"] for o in c.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert listed == sorted(keys, key=lambda k: k.encode())


def common_prefixes_count_toward_max_keys(c: Any) -> None:
    # ListObjects: MaxKeys bounds "the number of keys" returned, common prefixes included.
    for key in ("a/1", "b/1", "c"):
        c.put_object(Bucket=BUCKET, Key=key, Body=b"")
    page = c.list_objects(Bucket=BUCKET, Delimiter="/", MaxKeys=1)
    assert len(page.get("Contents", [])) + len(page.get("CommonPrefixes", [])) == 1
    assert page["IsTruncated"]


def v1_common_prefixes_are_url_encoded(c: Any) -> None:
    # With EncodingType=url (botocore's default) the prefixes are encoded, and decoded by
    # botocore: a "%" in a key comes back as itself.
    c.put_object(Bucket=BUCKET, Key="a%2Fb/c", Body=b"")
    page = c.list_objects(Bucket=BUCKET, Delimiter="/")
    assert page["CommonPrefixes"] == [{"Prefix": "a%2Fb/"}]


def quiet_delete_reports_only_errors(c: Any) -> None:
    # DeleteObjects: "In quiet mode the response includes only keys where the delete
    # action encountered an error."
    c.put_object(Bucket=BUCKET, Key="k", Body=b"")
    done = c.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "k"}], "Quiet": True})
    assert "Deleted" not in done


def versions_are_listed(c: Any) -> None:
    c.put_object(Bucket=BUCKET, Key="k", Body=b"")
    assert [v["Key"] for v in c.list_object_versions(Bucket=BUCKET)["Versions"]] == ["k"]


def _upload(c: Any, key: str = "mp") -> tuple[str, dict[str, Any]]:
    upload = c.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    part = c.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=1, Body=b"hello")
    return upload, {"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]}


def complete_multipart_answers_the_etag(c: Any) -> None:
    upload, parts = _upload(c)
    done = c.complete_multipart_upload(Bucket=BUCKET, Key="mp", UploadId=upload, MultipartUpload=parts)
    head = c.head_object(Bucket=BUCKET, Key="mp")
    assert re.fullmatch(r'"[0-9a-f]{32}-1"', head["ETag"])
    assert done["ETag"] == head["ETag"]


def a_copy_of_a_multipart_object_has_its_own_etag(c: Any) -> None:
    # CopyObject writes a new object in one part: its ETag is the MD5 of its bytes.
    upload, parts = _upload(c)
    c.complete_multipart_upload(Bucket=BUCKET, Key="mp", UploadId=upload, MultipartUpload=parts)
    copied = c.copy_object(Bucket=BUCKET, Key="dst", CopySource=f"{BUCKET}/mp")
    assert copied["CopyObjectResult"]["ETag"].strip('"') == hashlib.md5(b"hello").hexdigest()
    assert c.head_object(Bucket=BUCKET, Key="dst")["ETag"] == f'"{hashlib.md5(b"hello").hexdigest()}"'


def tags_of_a_multipart_object_are_cleared(c: Any) -> None:
    upload, parts = _upload(c)
    c.complete_multipart_upload(Bucket=BUCKET, Key="mp", UploadId=upload, MultipartUpload=parts)
    c.put_object_tagging(Bucket=BUCKET, Key="mp", Tagging={"TagSet": []})
    assert c.get_object_tagging(Bucket=BUCKET, Key="mp").get("TagSet", []) == []


def multipart_uploads_are_listed_and_aborted(c: Any) -> None:
    upload, _ = _upload(c)
    assert [p["PartNumber"] for p in c.list_parts(Bucket=BUCKET, Key="mp", UploadId=upload)["Parts"]] == [1]
    listed = c.list_multipart_uploads(Bucket=BUCKET)["Uploads"]
    assert [u["UploadId"] for u in listed] == [upload]
    c.abort_multipart_upload(Bucket=BUCKET, Key="mp", UploadId=upload)
    assert code(lambda: c.list_parts(Bucket=BUCKET, Key="mp", UploadId=upload)) == "NoSuchUpload"


def upload_part_copy_copies_a_range(c: Any) -> None:
    c.put_object(Bucket=BUCKET, Key="src", Body=b"0123456789")
    upload = c.create_multipart_upload(Bucket=BUCKET, Key="mp")["UploadId"]
    part = c.upload_part_copy(
        Bucket=BUCKET,
        Key="mp",
        UploadId=upload,
        PartNumber=1,
        CopySource=f"{BUCKET}/src",
        CopySourceRange="bytes=2-5",
    )["CopyPartResult"]
    assert part["ETag"].startswith('"')
    c.complete_multipart_upload(
        Bucket=BUCKET,
        Key="mp",
        UploadId=upload,
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
    )
    assert c.get_object(Bucket=BUCKET, Key="mp")["Body"].read() == b"2345"


def untagged_bucket_is_no_such_tag_set(c: Any) -> None:
    assert code(lambda: c.get_bucket_tagging(Bucket=BUCKET)) == "NoSuchTagSet"


# Each behaviour, and the servers that deviate from it: how.
CHECKS: dict[Callable[[Any], None], dict[str, str]] = {
    head_bucket_names_the_region: {
        "rgw": "RGW's HeadBucket sends no x-amz-bucket-region",
        "s3rver": "s3rver's HeadBucket sends no x-amz-bucket-region",
    },
    create_bucket_answers_its_location: {"rgw": "RGW's CreateBucket sends no Location"},
    us_east_1_has_no_location_constraint: {
        "rgw": "RGW answers its zonegroup's api_name ('default') as the LocationConstraint"
    },
    errors_carry_a_message_and_the_key: {
        "rgw": "RGW's error documents have no Message, and BucketName in place of Key"
    },
    copy_object_etag_is_quoted: {"rgw": "RGW's CopyObjectResult ETag is unquoted"},
    a_missing_unicode_key_is_no_such_key: {
        "s3rver": "s3rver answers CopyObject, GetObjectTagging and ranged GETs of a missing non-ASCII key "
        "with a bare 404"
    },
    a_key_with_a_question_mark_is_copied: {
        "s3rver": "s3rver cuts a CopySource key at its '?' (as if a query followed): NoSuchKey"
    },
    tag_values_keep_their_spaces: {
        "moto": "moto strips the spaces around tag values",
        "s3rver": "s3rver strips the spaces around tag values",
    },
    v1_prefix_before_the_marker_is_not_listed: {
        "moto": "moto's ListObjects (v1) lists a common prefix that sorts before the Marker"
    },
    copy_object_copies_tags: {"s3rver": "s3rver's CopyObject drops the source's tags"},
    copy_object_replaces_tags: {
        "rgw": "RGW's CopyObject ignores TaggingDirective=REPLACE (the copy keeps its source's tags or none)",
        "s3rver": "s3rver's CopyObject drops tags",
    },
    get_object_counts_tags: {"s3rver": "s3rver's GetObject sends no x-amz-tagging-count"},
    suffix_range_reads_the_end: {"s3rver": "s3rver reads Range: bytes=-N as bytes=0-N"},
    listings_are_in_byte_order: {"s3rver": "s3rver lists raw/a/b before raw/a-b (not in UTF-8 byte order)"},
    common_prefixes_count_toward_max_keys: {
        "moto": "moto's ListObjects (v1) returns every common prefix on every page, beyond MaxKeys",
        "s3rver": "s3rver's ListObjects (v1) pages keys alone and returns every common prefix on every page",
    },
    v1_common_prefixes_are_url_encoded: {
        "moto": "moto's ListObjects (v1) does not URL-encode CommonPrefixes under EncodingType=url"
    },
    quiet_delete_reports_only_errors: {
        "moto": "moto's quiet DeleteObjects still lists every Deleted key",
        "s3rver": "s3rver's quiet DeleteObjects still lists every Deleted key",
    },
    versions_are_listed: {"s3rver": "s3rver has no ListObjectVersions (MethodNotAllowed)"},
    complete_multipart_answers_the_etag: {
        "rgw": "RGW answers CompleteMultipartUpload with an empty ETag",
        "s3rver": "s3rver's multipart ETag is the MD5 of the whole object, not of the parts' MD5s with -N",
    },
    a_copy_of_a_multipart_object_has_its_own_etag: {
        "rgw": "RGW's copy of a multipart object keeps the source's multipart ETag"
    },
    tags_of_a_multipart_object_are_cleared: {
        "moto": "moto answers PutObjectTagging with an empty TagSet on a multipart object with HTTP 500"
    },
    multipart_uploads_are_listed_and_aborted: {
        "rgw": "RGW answers ListParts of an aborted upload with NoSuchKey, not NoSuchUpload",
        "s3rver": "s3rver has no ListParts, ListMultipartUploads or AbortMultipartUpload",
    },
    upload_part_copy_copies_a_range: {
        "rgw": "RGW's CopyPartResult ETag is unquoted",
        "s3rver": "s3rver has no UploadPartCopy (NotImplemented)",
    },
    untagged_bucket_is_no_such_tag_set: {"s3rver": "s3rver has no GetBucketTagging (NotImplemented)"},
}

CASES = [
    pytest.param(
        check,
        kind,
        id=f"{check.__name__}-{kind}",
        marks=[pytest.mark.xfail(strict=True, reason=deviations[kind])] if kind in deviations else [],
    )
    for check, deviations in CHECKS.items()
    for kind in SERVERS
]


@pytest.mark.parametrize(("check", "kind"), CASES)
def test_s3_behaviour(check: Callable[[Any], None], kind: str, client: Any) -> None:
    check(client)
