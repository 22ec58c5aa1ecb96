"""Listings across routes and clients, over real servers.

The differential test (test_differential.py) pages through split listings at random;
these tests pin the cases it cannot reach: stale keys left in a broader route's backend,
uploads and versions split over two servers, fallbacks in the union, tokens, and a
backend that stops in the middle of a listing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

import botwo
from botwo.testing import LocalS3Server

from .backends import over_sets

SPLIT = [
    {
        "bucket_name": "data",
        "prefix": "raw/",
        "strip_prefix": True,
        "client": "lake",
        "mapped_bucket_name": "data-lake",
        "key_prefix": "main/",
    },
    {"bucket_name": "*", "client": "s3"},
]


@pytest.fixture
def split(backends: dict[str, Any]) -> Any:
    backends["s3"].create_bucket(Bucket="data")
    backends["lake"].create_bucket(Bucket="data-lake")
    backends["oracle"].create_bucket(Bucket="data")
    return botwo.client({"s3": backends["s3"], "lake": backends["lake"]}, SPLIT)


def keys_of(pages: Any, member: str = "Contents") -> list[str]:
    return [entry["Key"] for page in pages for entry in page.get(member, [])]


@over_sets()
def test_stale_keys_in_a_moved_prefix_are_not_listed(split: Any, backends: dict[str, Any]) -> None:
    for key in ["a", "raw/x", "raw/y/z", "zz"]:
        split.put_object(Bucket="data", Key=key, Body=b"")
    # S3 still holds copies from before the move, and a key only there.
    for key in ["raw/x", "raw/old", "raw/y/z"]:
        backends["s3"].put_object(Bucket="data", Key=key, Body=b"stale")
    pages = split.get_paginator("list_objects_v2").paginate(Bucket="data", PaginationConfig={"PageSize": 1})
    assert keys_of(pages) == ["a", "raw/x", "raw/y/z", "zz"]
    top = split.list_objects_v2(Bucket="data", Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["raw/"]
    assert top["KeyCount"] == 3
    # A common prefix that S3 returns only for stale keys is not the caller's.
    backends["lake"].delete_objects(
        Bucket="data-lake", Delete={"Objects": [{"Key": "main/x"}, {"Key": "main/y/z"}]}
    )
    top = split.list_objects_v2(Bucket="data", Delimiter="/")
    assert "CommonPrefixes" not in top
    assert [c["Key"] for c in top["Contents"]] == ["a", "zz"]


@over_sets(
    {
        "rgw+s3rver": "s3rver has no versioning: PutBucketVersioning is BucketAlreadyExists, "
        "and no ListObjectVersions"
    }
)
def test_uploads_and_versions_split_over_two_servers(split: Any, backends: dict[str, Any]) -> None:
    oracle = backends["oracle"]
    for client, bucket in ((backends["s3"], "data"), (backends["lake"], "data-lake"), (oracle, "data")):
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for side in (split, oracle):
        for key in ["q", "raw/r", "raw/r", "s"]:
            side.put_object(Bucket="data", Key=key, Body=b"v")
        side.delete_object(Bucket="data", Key="raw/r")
        for key in ["m", "raw/u", "raw/u", "t"]:
            side.create_multipart_upload(Bucket="data", Key=key)
    for page_size in (1, 2, 100):
        config = {"PageSize": page_size}
        ours = list(
            split.get_paginator("list_object_versions").paginate(Bucket="data", PaginationConfig=config)
        )
        theirs = list(
            oracle.get_paginator("list_object_versions").paginate(Bucket="data", PaginationConfig=config)
        )
        for member in ("Versions", "DeleteMarkers"):
            assert keys_of(ours, member) == keys_of(theirs, member)
        assert [len(p.get("Versions", [])) + len(p.get("DeleteMarkers", [])) for p in ours] == [
            len(p.get("Versions", [])) + len(p.get("DeleteMarkers", [])) for p in theirs
        ]
        ours = list(
            split.get_paginator("list_multipart_uploads").paginate(Bucket="data", PaginationConfig=config)
        )
        assert keys_of(ours, "Uploads") == ["m", "raw/u", "raw/u", "t"]
        assert all(len(p.get("Uploads", [])) <= page_size for p in ours)
    ids = [u["UploadId"] for u in split.list_multipart_uploads(Bucket="data")["Uploads"]]
    assert len(set(ids)) == 4


@over_sets(
    {
        "rgw+s3rver": "s3rver lists raw/a/b before raw/a-b and raw/a b (not in byte order): the merged "
        "listing, resuming after raw/a/b, drops the other two"
    }
)
def test_a_merged_listing_pages_every_key_in_order(split: Any, backends: dict[str, Any]) -> None:
    keys = ["raw/a b", "raw/a-b", "raw/a/b", "raw/a0", "top"]
    for key in keys:
        split.put_object(Bucket="data", Key=key, Body=b"")
    for size in (1, 2, 1000):
        pages = split.get_paginator("list_objects_v2").paginate(
            Bucket="data", PaginationConfig={"PageSize": size}
        )
        assert keys_of(pages) == keys, size


@over_sets()
def test_a_route_lists_the_union_of_its_clients(backends: dict[str, Any]) -> None:
    s3, lake = backends["s3"], backends["lake"]
    s3.create_bucket(Bucket="shared")
    lake.create_bucket(Bucket="shared")
    s3.put_object(Bucket="shared", Key="both", Body=b"primary")
    lake.put_object(Bucket="shared", Key="both", Body=b"fallback!")
    lake.put_object(Bucket="shared", Key="old", Body=b"")
    s3.put_object(Bucket="shared", Key="new", Body=b"")
    client = botwo.client(
        {"s3": s3, "lake": lake},
        [{"bucket_name": "shared", "client": "s3", "fallback": ["lake"]}, *SPLIT[1:]],
    )
    listed = client.list_objects_v2(Bucket="shared")["Contents"]
    assert [(c["Key"], c["Size"]) for c in listed] == [("both", 7), ("new", 0), ("old", 0)]
    pages = client.get_paginator("list_objects").paginate(Bucket="shared", PaginationConfig={"PageSize": 1})
    assert keys_of(pages) == ["both", "new", "old"]


@over_sets()
def test_tokens_of_a_merged_listing_are_checked(split: Any, backends: dict[str, Any]) -> None:
    for key in ["a", "raw/b", "c"]:
        split.put_object(Bucket="data", Key=key, Body=b"")
    token = split.list_objects_v2(Bucket="data", MaxKeys=1)["NextContinuationToken"]
    other = botwo.client(
        {"s3": backends["s3"], "lake": backends["lake"]}, [SPLIT[0], {**SPLIT[1], "readonly": True}]
    )
    for call, match in [
        (lambda: other.list_objects_v2(Bucket="data", ContinuationToken=token), "not issued"),
        (lambda: split.list_objects_v2(Bucket="data", ContinuationToken=token[:-4] + "AAAA"), "not issued"),
        (
            lambda: split.list_objects_v2(Bucket="data", Prefix="r", ContinuationToken=token),
            "another listing",
        ),
    ]:
        with pytest.raises(botwo.TokenError, match=match):
            call()
    rest = split.list_objects_v2(Bucket="data", ContinuationToken=token)
    assert [c["Key"] for c in rest["Contents"]] == ["c", "raw/b"]
    assert rest["ContinuationToken"] == token


@pytest.fixture
def stoppable() -> Iterator[LocalS3Server]:
    server = LocalS3Server("gone").start()
    try:
        yield server
    finally:
        server.stop()


def test_a_backend_that_stops_mid_listing_fails_the_call(
    backends: dict[str, Any], stoppable: LocalS3Server
) -> None:
    lake = stoppable.client(
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, s3={"addressing_style": "path"})
    )
    lake.create_bucket(Bucket="data-lake")
    backends["s3"].create_bucket(Bucket="data")
    client = botwo.client({"s3": backends["s3"], "lake": lake}, SPLIT)
    for key in ["a", "b", "raw/c", "raw/d", "z"]:
        client.put_object(Bucket="data", Key=key, Body=b"")
    first = client.list_objects_v2(Bucket="data", MaxKeys=2)
    assert [c["Key"] for c in first["Contents"]] == ["a", "b"]
    stoppable.stop()
    with pytest.raises(EndpointConnectionError) as caught:
        client.list_objects_v2(Bucket="data", MaxKeys=2, ContinuationToken=first["NextContinuationToken"])
    # The part of the listing that failed is named: lake's, not the catch-all's s3.
    record = botwo.served(caught.value)
    assert record is not None and record.client == "lake"
    assert record.route.rule.prefix == "raw/" and record.target_bucket == "data-lake"
    (note,) = caught.value.__notes__
    assert "client 'lake'" in note and "prefix='raw/'" in note and "'s3'" not in note
