"""Calls that span routes: ``delete_objects`` over several routes, and the bucket list.

Each is compared with the ``oracle`` server, one plain S3 that holds the caller's whole
namespace under the caller's names: what the caller sees through botwo over ``s3`` and
``lake`` must be what it sees there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

import botwo
from botwo import TokenError
from botwo.testing import LocalS3Server

from .backends import over_sets

MAPPING: list[dict[str, Any]] = [
    # data/raw/x -> lake raw-repo/main/x ; data/curated/y -> lake curated-repo/main/curated/y
    {
        "bucket_name": "data",
        "prefix": "raw/",
        "strip_prefix": True,
        "client": "lake",
        "mapped_bucket_name": "raw-repo",
        "key_prefix": "main/",
    },
    {
        "bucket_name": "data",
        "prefix": "curated/",
        "client": "lake",
        "mapped_bucket_name": "curated-repo",
        "key_prefix": "main/",
    },
    {
        "bucket_name": "example-old-bucket",
        "mapped_bucket_name": "example-repo",
        "client": "lake",
        "key_prefix": "main/",
    },
    {"bucket_name": "bucket-a", "client": "lake", "key_prefix": "dev/"},
    {"bucket_name": "logs-*", "client": "lake"},
    {"bucket_name": "*", "client": "s3"},
]
LAKE_BUCKETS = ("raw-repo", "curated-repo")
ROUTE_PREFIXES = ("raw/", "curated/", "reports/", "")


@pytest.fixture
def s3(backends: dict[str, Any]) -> Iterator[Any]:
    for bucket in LAKE_BUCKETS:
        backends["lake"].create_bucket(Bucket=bucket)
    backends["s3"].create_bucket(Bucket="data")
    backends["oracle"].create_bucket(Bucket="data")
    client = botwo.client({"s3": backends["s3"], "lake": backends["lake"]}, MAPPING)
    yield client
    client.close()


def seen(response: dict[str, Any]) -> dict[str, Any]:
    """What the caller compares: the response without its transport metadata."""
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def put_both(s3: Any, oracle: Any, keys: list[str]) -> None:
    for key in keys:
        s3.put_object(Bucket="data", Key=key, Body=key.encode())
        oracle.put_object(Bucket="data", Key=key, Body=key.encode())


def keys_under(client: Any, prefix: str) -> list[str]:
    listed = client.list_objects_v2(Bucket="data", Prefix=prefix).get("Contents", [])
    return [o["Key"] for o in listed]


# What the tests over other servers meet (docs/compatibility.md): RGW lists a bulk
# delete's Deleted keys in its own order, and moto and s3rver list them in quiet mode too,
# which botwo passes on.
DELETED = "Deleted: RGW (the oracle) lists them in its own order; moto and s3rver list them when quiet"

PRESENT = [
    "raw/a.csv",
    "curated/b.csv",
    "reports/c.csv",
    "raw/2024/d.csv",
    "e.txt",
    "curated/x y.csv",
    "raw/ü",
]
# Interleaved over the three routes, with keys that do not exist.
REQUEST = [
    "reports/c.csv",
    "raw/a.csv",
    "missing/1",
    "curated/b.csv",
    "raw/missing",
    "e.txt",
    "raw/2024/d.csv",
    "curated/x y.csv",
    "raw/ü",
    "curated/missing",
]


# -- delete_objects across routes ----------------------------------------------------------


@over_sets({"moto+rgw": DELETED, "rgw+s3rver": DELETED})
@pytest.mark.parametrize("quiet", [False, True])
def test_a_bulk_delete_over_several_routes_is_one_s3s(s3: Any, backends: dict[str, Any], quiet: bool) -> None:
    oracle = backends["oracle"]
    put_both(s3, oracle, PRESENT)
    bodies: list[bytes] = []

    def capture(request: Any, **_kwargs: Any) -> None:
        if request.method == "POST" and "delete" in request.url:
            bodies.append(request.body)

    for name in ("s3", "lake"):
        backends[name].meta.events.register("before-send.s3.DeleteObjects", capture)
    delete = {"Objects": [{"Key": k} for k in REQUEST], "Quiet": quiet}
    ours = s3.delete_objects(Bucket="data", Delete=delete)
    theirs = oracle.delete_objects(Bucket="data", Delete=delete)
    assert seen(ours) == seen(theirs)
    assert len(bodies) == 3  # one request per (client, target bucket)
    assert all((b"<Quiet>true</Quiet>" in body) is quiet for body in bodies)
    if "Deleted" in ours:  # the caller's order, whatever order the parts answered in
        assert [d["Key"] for d in ours["Deleted"]] == REQUEST
    for prefix in ROUTE_PREFIXES[:-1]:
        assert keys_under(s3, prefix) == keys_under(oracle, prefix) == [], prefix
    assert keys_under(backends["s3"], "") == keys_under(oracle, "") == []
    for bucket in LAKE_BUCKETS:
        assert "Contents" not in backends["lake"].list_objects_v2(Bucket=bucket)
    assert delete == {"Objects": [{"Key": k} for k in REQUEST], "Quiet": quiet}  # not mutated


def test_a_partial_bulk_delete_leaves_the_same_keys(s3: Any, backends: dict[str, Any]) -> None:
    oracle = backends["oracle"]
    put_both(s3, oracle, PRESENT)
    delete = {"Objects": [{"Key": "curated/b.csv"}, {"Key": "e.txt"}, {"Key": "raw/2024/d.csv"}]}
    assert seen(s3.delete_objects(Bucket="data", Delete=delete)) == seen(
        oracle.delete_objects(Bucket="data", Delete=delete)
    )
    for prefix in ("raw/", "curated/"):
        assert keys_under(s3, prefix) == keys_under(oracle, prefix)
    assert keys_under(backends["s3"], "") == [
        k for k in keys_under(oracle, "") if not k.startswith(("raw/", "curated/"))
    ]
    assert keys_under(s3, "raw/") == ["raw/a.csv", "raw/ü"]
    assert backends["lake"].list_objects_v2(Bucket="raw-repo")["KeyCount"] == 2  # main/a.csv, main/ü


def _labels(version_ids: dict[str, list[str]]) -> dict[str, str]:
    return {vid: f"{key}#{i}" for key, ids in version_ids.items() for i, vid in enumerate(ids)}


def _normalized(response: dict[str, Any], labels: dict[str, str]) -> Any:
    """The response with this server's version ids replaced by labels that both share."""
    text = json.dumps(seen(response), sort_keys=True, default=str)
    for vid, label in labels.items():
        text = text.replace(vid, label)
    out = json.loads(text)
    for entry in out.get("Deleted", []):
        if "DeleteMarkerVersionId" in entry:  # a new delete marker: a fresh id on each server
            entry["DeleteMarkerVersionId"] = "<new>"
        if entry.get("DeleteMarker") and "VersionId" in entry and entry["VersionId"] not in labels.values():
            entry["VersionId"] = "<new>"
    return out


def test_a_versioned_bulk_delete_over_several_routes_is_one_s3s(s3: Any, backends: dict[str, Any]) -> None:
    oracle = backends["oracle"]
    versioning = {"Status": "Enabled"}
    s3.put_bucket_versioning(Bucket="data", VersioningConfiguration=versioning)  # s3's data
    for bucket in LAKE_BUCKETS:
        backends["lake"].put_bucket_versioning(Bucket=bucket, VersioningConfiguration=versioning)
    oracle.put_bucket_versioning(Bucket="data", VersioningConfiguration=versioning)
    keys = ["raw/a.csv", "reports/c.csv", "curated/b.csv"]
    ours: dict[str, list[str]] = {k: [] for k in keys}
    theirs: dict[str, list[str]] = {k: [] for k in keys}
    for round_ in range(2):
        for key in keys:
            data = f"{key} v{round_}".encode()
            ours[key].append(s3.put_object(Bucket="data", Key=key, Body=data)["VersionId"])
            theirs[key].append(oracle.put_object(Bucket="data", Key=key, Body=data)["VersionId"])

    def request(ids: dict[str, list[str]]) -> dict[str, Any]:
        return {
            "Objects": [
                {"Key": "raw/a.csv", "VersionId": ids["raw/a.csv"][0]},
                {"Key": "reports/c.csv"},  # a delete marker
                {"Key": "reports/c.csv", "VersionId": ids["reports/c.csv"][0]},
                {"Key": "curated/b.csv", "VersionId": ids["curated/b.csv"][1]},
                {"Key": "raw/missing", "VersionId": "null"},
            ]
        }

    got = s3.delete_objects(Bucket="data", Delete=request(ours))
    expected = oracle.delete_objects(Bucket="data", Delete=request(theirs))
    assert _normalized(got, _labels(ours)) == _normalized(expected, _labels(theirs))
    # What is left, version by version, is the same.
    for key in keys:
        left = {
            v["VersionId"] for v in s3.list_object_versions(Bucket="data", Prefix=key).get("Versions", [])
        }
        left_there = {
            v["VersionId"] for v in oracle.list_object_versions(Bucket="data", Prefix=key).get("Versions", [])
        }
        assert {_labels(ours)[v] for v in left} == {_labels(theirs)[v] for v in left_there}, key
        assert body_of(s3, key) == body_of(oracle, key), key


def test_entries_of_one_key_keep_the_callers_order(s3: Any, backends: dict[str, Any]) -> None:
    oracle = backends["oracle"]
    versioning = {"Status": "Enabled"}
    s3.put_bucket_versioning(Bucket="data", VersioningConfiguration=versioning)
    backends["lake"].put_bucket_versioning(Bucket="raw-repo", VersioningConfiguration=versioning)
    oracle.put_bucket_versioning(Bucket="data", VersioningConfiguration=versioning)
    ours = [s3.put_object(Bucket="data", Key="raw/a", Body=b"%d" % i)["VersionId"] for i in range(2)]
    theirs = [oracle.put_object(Bucket="data", Key="raw/a", Body=b"%d" % i)["VersionId"] for i in range(2)]

    def request(ids: list[str]) -> dict[str, Any]:
        # Two versions of raw/a with a key of another route between them, and a repeat.
        return {
            "Objects": [
                {"Key": "raw/a", "VersionId": ids[1]},
                {"Key": "b"},
                {"Key": "raw/a", "VersionId": ids[0]},
                {"Key": "b"},
            ]
        }

    got = s3.delete_objects(Bucket="data", Delete=request(ours))
    expected = oracle.delete_objects(Bucket="data", Delete=request(theirs))
    assert _normalized(got, _labels({"raw/a": ours})) == _normalized(expected, _labels({"raw/a": theirs}))


def body_of(client: Any, key: str) -> bytes | str:
    try:
        data: bytes = client.get_object(Bucket="data", Key=key)["Body"].read()
    except client.exceptions.NoSuchKey:
        return "NoSuchKey"
    return data


def test_a_part_that_fails_reports_its_keys_and_the_others_are_deleted(
    s3: Any, backends: dict[str, Any]
) -> None:
    put_both(s3, backends["oracle"], PRESENT)
    backends["lake"].delete_objects(
        Bucket="curated-repo",
        Delete={"Objects": [{"Key": "main/curated/b.csv"}, {"Key": "main/curated/x y.csv"}]},
    )
    backends["lake"].delete_bucket(Bucket="curated-repo")  # that part fails: NoSuchBucket
    objects = [{"Key": k} for k in REQUEST]
    objects[3] = {"Key": "curated/b.csv", "VersionId": "null"}
    response = s3.delete_objects(Bucket="data", Delete={"Objects": objects})
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    curated = [o for o in objects if o["Key"].startswith("curated/")]
    assert [e["Key"] for e in response["Errors"]] == [o["Key"] for o in curated]
    assert response["Errors"][0]["VersionId"] == "null"
    for entry in response["Errors"]:
        assert entry["Code"] == "NoSuchBucket"
        assert "curated-repo" not in entry["Message"] and "main/" not in entry["Message"]
    assert [d["Key"] for d in response["Deleted"]] == [o["Key"] for o in objects if o not in curated]
    assert keys_under(s3, "raw/") == []
    assert keys_under(backends["s3"], "") == []
    # Quiet: the errors are still reported.
    quiet = s3.delete_objects(Bucket="data", Delete={"Objects": objects, "Quiet": True})
    # (moto's servers ignore Quiet and list Deleted anyway; the failed part's keys are Errors
    # whatever Quiet says, as on S3.)
    assert [e["Key"] for e in quiet["Errors"]] == [o["Key"] for o in curated]


def test_when_every_part_fails_the_call_fails_in_caller_names(s3: Any, backends: dict[str, Any]) -> None:
    for bucket in LAKE_BUCKETS:
        backends["lake"].delete_bucket(Bucket=bucket)
    backends["s3"].delete_bucket(Bucket="data")
    with pytest.raises(s3.exceptions.NoSuchBucket) as caught:
        s3.delete_objects(
            Bucket="data", Delete={"Objects": [{"Key": "raw/a"}, {"Key": "b"}, {"Key": "curated/c"}]}
        )
    assert caught.value.response["Error"]["BucketName"] == "data"
    assert "repo" not in str(caught.value.response["Error"])


@pytest.fixture(scope="module")
def unreachable() -> Any:
    """A boto3 client of a server that was started and stopped: connections are refused."""
    server = LocalS3Server("gone").start()
    client = server.client(
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, connect_timeout=1)
    )
    server.stop()
    return client


@pytest.fixture
def half_down(backends: dict[str, Any], unreachable: Any) -> Iterator[Any]:
    """The mapping over a live ``s3`` and a ``lake`` that is down."""
    backends["s3"].create_bucket(Bucket="data")
    client = botwo.client({"s3": backends["s3"], "lake": unreachable}, MAPPING)
    yield client
    client.close()


def test_an_unreachable_backend_reports_its_keys_and_the_others_are_deleted(
    half_down: Any, backends: dict[str, Any]
) -> None:
    s3 = half_down
    for key in ("reports/c.csv", "e.txt"):
        s3.put_object(Bucket="data", Key=key, Body=b"x")
    objects = [{"Key": k} for k in REQUEST]
    response = s3.delete_objects(Bucket="data", Delete={"Objects": objects})
    on_lake = [k for k in REQUEST if k.startswith(("raw/", "curated/"))]
    assert [e["Key"] for e in response["Errors"]] == on_lake  # in the caller's order
    assert {e["Code"] for e in response["Errors"]} == {"ServiceUnavailable"}
    assert [d["Key"] for d in response["Deleted"]] == [k for k in REQUEST if k not in on_lake]
    assert "Contents" not in backends["s3"].list_objects_v2(Bucket="data")  # really deleted


def test_an_unreachable_backends_message_names_no_target(half_down: Any) -> None:
    response = half_down.delete_objects(Bucket="data", Delete={"Objects": [{"Key": "raw/a"}, {"Key": "b"}]})
    (error,) = response["Errors"]
    assert error["Key"] == "raw/a"
    assert "raw-repo" not in error["Message"] and "main/" not in error["Message"]


def test_when_every_part_is_unreachable_the_connection_error_is_raised(unreachable: Any) -> None:
    s3 = botwo.client({"s3": unreachable, "lake": unreachable}, MAPPING)
    with pytest.raises(EndpointConnectionError):
        s3.delete_objects(Bucket="data", Delete={"Objects": [{"Key": "raw/a"}, {"Key": "b"}]})


# -- list_buckets ------------------------------------------------------------------------


# What each server holds. Through the mapping, the caller sees exactly CALLER_BUCKETS.
LAKE_ALL = ("raw-repo", "curated-repo", "example-repo", "bucket-a", "logs-1", "logs-2", "stray")
S3_ALL = ("data", "plain", "zeta", "logs-3", "example-old-bucket", "bucket-a")
CALLER_BUCKETS = ["bucket-a", "data", "example-old-bucket", "logs-1", "logs-2", "plain", "zeta"]
# raw-repo, curated-repo: reached only through prefix rules of "data": not caller buckets.
# example-repo: the caller calls it example-old-bucket. stray: "stray" routes to s3.
# s3's logs-3, example-old-bucket, bucket-a: those names route to lake.


@pytest.fixture
def buckets(backends: dict[str, Any]) -> Iterator[Any]:
    for name in LAKE_ALL:
        backends["lake"].create_bucket(Bucket=name)
    for name in S3_ALL:
        backends["s3"].create_bucket(Bucket=name)
    for name in CALLER_BUCKETS:
        backends["oracle"].create_bucket(Bucket=name)
    client = botwo.client({"s3": backends["s3"], "lake": backends["lake"]}, MAPPING)
    yield client
    client.close()


def shape(response: dict[str, Any]) -> Any:
    """Names and the shape of each entry; the members a moto server leaves out are dropped."""
    out = seen(response)
    out.pop("ContinuationToken", None)
    out.pop("Prefix", None)  # moto does not echo Prefix; botwo does, as S3 does
    out["Buckets"] = [(b["Name"], sorted(b)) for b in out["Buckets"]]
    return out


def test_list_buckets_is_the_union_in_caller_names(buckets: Any, backends: dict[str, Any]) -> None:
    ours, theirs = buckets.list_buckets(), backends["oracle"].list_buckets()
    assert [b["Name"] for b in ours["Buckets"]] == CALLER_BUCKETS
    assert shape(ours) == shape(theirs)
    assert "ContinuationToken" not in ours and "Prefix" not in ours
    # Every listed bucket answers bucket calls, and those not listed do not exist.
    for name in CALLER_BUCKETS:
        buckets.head_bucket(Bucket=name)
    for name in ("raw-repo", "curated-repo", "example-repo", "stray", "logs-3"):
        with pytest.raises(buckets.exceptions.ClientError) as caught:
            buckets.head_bucket(Bucket=name)
        assert caught.value.response["Error"]["Code"] == "404", name


def test_list_directory_buckets_is_the_union_too(buckets: Any, backends: dict[str, Any]) -> None:
    ours = buckets.list_directory_buckets()
    theirs = backends["oracle"].list_directory_buckets()
    assert [b["Name"] for b in ours["Buckets"]] == CALLER_BUCKETS
    assert shape(ours) == shape(theirs)
    first = buckets.list_directory_buckets(MaxDirectoryBuckets=4)
    rest = buckets.list_directory_buckets(ContinuationToken=first["ContinuationToken"])
    assert [b["Name"] for b in first["Buckets"] + rest["Buckets"]] == CALLER_BUCKETS


@pytest.mark.parametrize("size", [1, 2, 3, 7, 8])
def test_list_buckets_pages(buckets: Any, backends: dict[str, Any], size: int) -> None:
    names: list[str] = []
    params: dict[str, Any] = {"MaxBuckets": size}
    for _ in range(10):
        page = buckets.list_buckets(**params)
        assert len(page["Buckets"]) <= size
        names += [b["Name"] for b in page["Buckets"]]
        assert shape(page)["Owner"] == shape(backends["oracle"].list_buckets())["Owner"]
        if "ContinuationToken" not in page:
            break
        params = {"MaxBuckets": size, "ContinuationToken": page["ContinuationToken"]}
    assert names == CALLER_BUCKETS
    assert len(names) == len(set(names))
    pages = buckets.get_paginator("list_buckets").paginate(PaginationConfig={"PageSize": size})
    assert [b["Name"] for page in pages for b in page["Buckets"]] == CALLER_BUCKETS


def test_list_buckets_with_a_prefix(buckets: Any, backends: dict[str, Any]) -> None:
    for prefix in ("logs-", "b", "example-", "raw", "stray", "zz", ""):
        ours = buckets.list_buckets(Prefix=prefix)
        theirs = backends["oracle"].list_buckets(Prefix=prefix)
        assert shape(ours) == shape(theirs), prefix
        assert ours["Prefix"] == prefix
    first = buckets.list_buckets(Prefix="logs-", MaxBuckets=1)
    assert [b["Name"] for b in first["Buckets"]] == ["logs-1"]
    second = buckets.list_buckets(Prefix="logs-", MaxBuckets=1, ContinuationToken=first["ContinuationToken"])
    assert [b["Name"] for b in second["Buckets"]] == ["logs-2"]
    assert "ContinuationToken" not in second


def test_forged_and_foreign_bucket_list_tokens_are_refused(buckets: Any, backends: dict[str, Any]) -> None:
    token = buckets.list_buckets(MaxBuckets=2)["ContinuationToken"]
    # A changed character in the middle: the last one may only carry base64 padding bits.
    middle = len(token) // 2
    for bad in (
        "bw2-" + "A" * 40,
        "not-a-token",
        token[:-3],
        token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :],
    ):
        with pytest.raises(TokenError):
            buckets.list_buckets(ContinuationToken=bad)
    # A token from another rule table.
    other = botwo.client(
        {"s3": backends["s3"], "lake": backends["lake"]},
        [{"bucket_name": "zeta", "client": "s3"}, *MAPPING],
    )
    with pytest.raises(TokenError):
        other.list_buckets(ContinuationToken=token)
    # A token of this table that is not a bucket-list position (an object listing's).
    backends["s3"].put_object(Bucket="plain", Key="a", Body=b"")
    backends["s3"].put_object(Bucket="plain", Key="b", Body=b"")
    listing = buckets.list_objects_v2(Bucket="plain", MaxKeys=1)["NextContinuationToken"]
    with pytest.raises(TokenError, match="bucket-list position"):
        buckets.list_buckets(ContinuationToken=listing)
    assert issubclass(TokenError, ValueError)


# -- presigning what spans backends -------------------------------------------------------


def test_a_presigned_bulk_delete_within_one_route_is_signed_by_its_client(
    s3: Any, backends: dict[str, Any]
) -> None:
    url = s3.generate_presigned_url(
        "delete_objects",
        Params={"Bucket": "data", "Delete": {"Objects": [{"Key": "raw/a"}, {"Key": "raw/b"}]}},
    )
    assert url.startswith(backends["lake"].meta.endpoint_url + "/raw-repo?delete")


def test_presigning_a_call_that_spans_backends_is_refused(s3: Any) -> None:
    with pytest.raises(botwo.CrossRouteError):
        s3.generate_presigned_url("list_buckets")
    with pytest.raises(botwo.CrossRouteError):
        s3.generate_presigned_url(
            "delete_objects",
            Params={"Bucket": "data", "Delete": {"Objects": [{"Key": "raw/a"}, {"Key": "b"}]}},
        )
    # A listing that merges two backends, and a copy streamed between them.
    with pytest.raises(botwo.CrossRouteError):
        s3.generate_presigned_url("list_objects_v2", Params={"Bucket": "data"})
    with pytest.raises(botwo.CrossRouteError):
        s3.generate_presigned_url(
            "copy_object", Params={"Bucket": "plain", "Key": "k", "CopySource": "example-old-bucket/k"}
        )


def test_a_bucket_that_only_a_fallback_has_is_listed(backends: dict[str, Any]) -> None:
    backends["s3"].create_bucket(Bucket="media")  # not yet on lake, the rule's own client
    client = botwo.client(
        {"s3": backends["s3"], "lake": backends["lake"]},
        [
            {"bucket_name": "media", "client": "lake", "fallback": ["s3"]},
            {"bucket_name": "*", "client": "lake"},
        ],
    )
    client.head_bucket(Bucket="media")  # it exists for the caller
    assert [b["Name"] for b in client.list_buckets()["Buckets"]] == ["media"]
