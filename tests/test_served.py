"""What a routed call's error declares, what the client lets adapters read, and what close() stops.

Over local servers: the errors are real backend answers, re-raised through botwo.
"""

from __future__ import annotations

import pickle
import threading
import warnings
from typing import Any

import pytest

import botwo
from botwo import CopyConfig, Served, served
from botwo._check import warning_problems

from .differential import MAPPING, TARGET_BUCKETS


@pytest.fixture
def s3(backends: dict[str, Any]) -> Any:
    for name, buckets in TARGET_BUCKETS.items():
        for bucket in buckets:
            backends[name].create_bucket(Bucket=bucket)
    return botwo.client({"s3": backends["s3"], "lake": backends["lake"]}, MAPPING)


def test_a_backend_error_declares_where_it_went(s3: Any) -> None:
    with pytest.raises(s3.exceptions.NoSuchKey) as caught:
        s3.get_object(Bucket="example-old-bucket", Key="missing.txt")
    record = served(caught.value)
    assert isinstance(record, Served)
    assert record.route.client == "lake" and record.route.rule_index == 1
    assert record.operation == "GetObject"
    assert (record.target_bucket, record.target_key) == ("example-repo", "main/missing.txt")
    assert record.side is None
    assert caught.value.botwo_route is record.route
    assert served(ValueError("not from botwo")) is None


@pytest.mark.parametrize("across", [False, True], ids=["server-side", "streamed"])
def test_a_copy_error_says_which_side_failed(s3: Any, across: bool) -> None:
    # data/raw/ is on lake (renamed); data/other/ and plain on s3.
    dest = "plain" if across else "example-old-bucket"
    with pytest.raises(s3.exceptions.ClientError) as caught:
        s3.copy_object(Bucket=dest, Key="copy", CopySource={"Bucket": "data", "Key": "raw/none"})
    record = served(caught.value)
    assert record is not None and record.side == "source"
    assert record.operation == "CopyObject"
    assert caught.value.response["Error"]["Code"] in ("NoSuchKey", "404")


@pytest.mark.parametrize("source", ["data/raw/src", "plain/src"], ids=["server-side", "streamed"])
def test_a_copy_into_a_missing_bucket_is_the_destinations(s3: Any, source: str) -> None:
    # logs-2025 goes to lake (the logs-* rule) and does not exist there.
    bucket, _, key = source.partition("/")
    s3.put_object(Bucket=bucket, Key=key, Body=b"x" * 10)
    with pytest.raises(s3.exceptions.NoSuchBucket) as caught:
        s3.copy_object(Bucket="logs-2025", Key="dest", CopySource=source)
    record = served(caught.value)
    assert record is not None and record.side == "destination"
    assert caught.value.response["Error"].get("BucketName", "logs-2025") == "logs-2025"


def test_routing_errors_carry_their_route(s3: Any) -> None:
    with pytest.raises(botwo.RoutingError) as caught:
        s3.put_bucket_policy(Bucket="example-old-bucket", Policy="{}")
    assert caught.value.route is not None and caught.value.route.rule_index == 1
    again = pickle.loads(pickle.dumps(caught.value))
    assert again.route == caught.value.route and str(again) == str(caught.value)


def test_rule_warnings_carry_their_rule_indexes(backends: dict[str, Any]) -> None:
    clients = {"s3": backends["s3"], "lake": backends["lake"]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        botwo.client(
            clients,
            [
                {"bucket_name": "a", "client": "s3"},
                {"bucket_name": "a", "prefix": "x/", "client": "lake"},
                {"bucket_name": "b", "client": "lake", "mapped_bucket_name": "t"},
                {"bucket_name": "c", "client": "lake", "mapped_bucket_name": "t"},
                {"bucket_name": "*", "client": "s3"},
            ],
        )
    shadowed = [w.message for w in caught if isinstance(w.message, botwo.ShadowedRuleWarning)]
    overlapping = [w.message for w in caught if isinstance(w.message, botwo.OverlappingTargetsWarning)]
    assert [(w.rule, w.by) for w in shadowed] == [(1, 0)]
    assert [(w.rules, w.client, w.bucket, w.prefix) for w in overlapping] == [((2, 3), "lake", "t", "")]
    copied = pickle.loads(pickle.dumps(overlapping[0]))
    assert copied.rules == (2, 3) and str(copied) == str(overlapping[0])
    # A warning made from text alone (warnings.warn(text, category)) is still one check reads.
    with warnings.catch_warnings(record=True) as texts:
        warnings.simplefilter("always")
        warnings.warn("mapping[9] never matches", botwo.ShadowedRuleWarning, stacklevel=1)
    assert [(p.severity, p.rules) for p in warning_problems(texts)] == [("warning", ())]


def test_adapters_read_public_accessors(s3: Any, backends: dict[str, Any]) -> None:
    assert s3.copy_config == CopyConfig()
    summaries = s3.backend_summaries()
    assert set(summaries) == {"s3", "lake"}
    assert summaries["lake"]["endpoint_url"] == backends["lake"].meta.endpoint_url
    tuned = botwo.client(
        {"s3": backends["s3"]}, [{"bucket_name": "*", "client": "s3"}], copy_config=CopyConfig(concurrency=2)
    )
    assert tuned.copy_config.concurrency == 2
    assert type(s3).__module__ == "botwo._client"


def test_close_stops_the_thread_pool(s3: Any) -> None:
    before = set(threading.enumerate())  # other clients' pools may be alive in this process
    s3.list_objects_v2(Bucket="data")  # a merged listing: the pool is started
    workers = [t for t in threading.enumerate() if t not in before and t.name.startswith("botwo")]
    assert workers
    s3.close()
    for thread in workers:
        thread.join(timeout=5)
    assert not any(t.is_alive() for t in workers)
