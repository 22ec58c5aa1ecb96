"""What a routed call's error declares, what the client lets adapters read, and what close() stops.

Over local servers: the errors are real backend answers, re-raised through botwo.
"""

from __future__ import annotations

import pickle
import threading
import warnings
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

import botwo
from botwo import CopyConfig, Served, served
from botwo._check import warning_problems
from botwo.testing import LocalS3Server

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
    # A prefix without its "/" also takes the keys of other folders: warned, with its fields.
    with warnings.catch_warnings(record=True) as open_prefixes:
        warnings.simplefilter("always")
        botwo.client(
            clients,
            [
                {"bucket_name": "a", "prefix": "trusted", "client": "lake", "key_prefix": "main/"},
                {"bucket_name": "b", "prefix": "raw/", "client": "lake"},  # as meant: no warning
                {
                    "bucket_name": "c",
                    "prefix": "trusted",
                    "client": "lake",
                    "strip_prefix": True,
                    "key_prefix": "main/",
                },
                {"bucket_name": "*", "client": "s3"},
            ],
        )
    found = [w.message for w in open_prefixes if isinstance(w.message, botwo.PrefixWithoutSlashWarning)]
    assert [(w.rule, w.prefix) for w in found] == [(0, "trusted"), (2, "trusted")]
    assert str(found[0]) == (
        "mapping[0].prefix 'trusted' does not end with '/': it also takes keys of other "
        "folders, such as 'trusted-other/k'"
    )
    assert str(found[1]).endswith("; and with strip_prefix, 'trusted/a' goes to 'main//a'")
    assert [(p.severity, p.rules) for p in warning_problems(open_prefixes)] == [
        ("warning", (0,)),
        ("warning", (2,)),
    ]
    again = pickle.loads(pickle.dumps(found[1]))
    assert (again.rule, again.prefix, str(again)) == (2, "trusted", str(found[1]))
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


# -- the note: which client, which target ---------------------------------------------------


def test_a_missing_target_bucket_is_named_in_the_note(backends: dict[str, Any]) -> None:
    # ml-models is renamed to modelz on lake, which does not exist there: the fields keep the
    # caller's name (as one S3 would say it), the note says what was really asked, and of whom.
    s3: Any = botwo.client(
        {"lake": backends["lake"], "aws": backends["s3"]},
        [
            {
                "bucket_name": "ml-models",
                "mapped_bucket_name": "modelz",
                "client": "lake",
                "key_prefix": "main/",
            },
            {"bucket_name": "*", "client": "aws"},
        ],
    )
    with pytest.raises(s3.exceptions.NoSuchBucket) as caught:
        s3.get_object(Bucket="ml-models", Key="v1/weights.bin")
    err = caught.value
    assert err.response["Error"].get("BucketName", "ml-models") == "ml-models"
    assert "modelz" not in str(err)
    (note,) = err.__notes__
    assert note == (
        "botwo: get_object(Bucket='ml-models', Key='v1/weights.bin') through rule 0 "
        "(bucket_name='ml-models') -> client 'lake', target s3://modelz/main/v1/weights.bin"
    )
    assert note.count("'lake'") == 1


def test_notes_have_one_shape(s3: Any) -> None:
    # A backend's answer and a refusal to connect say the call, the rule and the client
    # the same way; only what follows differs (an answer names the target it was about).
    with pytest.raises(s3.exceptions.NoSuchKey) as answered:
        s3.get_object(Bucket="data", Key="raw/none")
    (note,) = answered.value.__notes__
    assert note == (
        "botwo: get_object(Bucket='data', Key='raw/none') through rule 2 (bucket_name='data', "
        "prefix='raw/') -> client 'lake', target s3://data-lake/main/none"
    )
    with pytest.raises(s3.exceptions.NoSuchBucket) as listed:
        s3.list_objects_v2(Bucket="logs-none", Prefix="a/")
    (note,) = listed.value.__notes__
    assert note == (
        "botwo: list_objects_v2(Bucket='logs-none', Prefix='a/') through rule 3 "
        "(bucket_name='logs-*') -> client 'lake', target s3://logs-none/g/a/"
    )


# -- calls that several backends serve: the part that failed ---------------------------------


@pytest.fixture
def gone() -> Any:
    """A client of a server that was started and stopped: connections are refused."""
    server = LocalS3Server("gone").start()
    client = server.client(
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, connect_timeout=1)
    )
    server.stop()
    return client


def test_a_streamed_copy_whose_source_is_down_names_the_source(
    backends: dict[str, Any], gone: Any
) -> None:
    backends["s3"].create_bucket(Bucket="dst")
    s3: Any = botwo.client(
        {"src": gone, "dst": backends["s3"]},
        [
            {"bucket_name": "models", "mapped_bucket_name": "models-v2", "client": "src"},
            {"bucket_name": "*", "client": "dst"},
        ],
    )
    with pytest.raises(EndpointConnectionError) as caught:
        s3.copy_object(Bucket="dst", Key="copy", CopySource={"Bucket": "models", "Key": "m.bin"})
    record = served(caught.value)
    assert record is not None
    assert (record.client, record.side, record.route.rule_index) == ("src", "source", 0)
    assert (record.target_bucket, record.target_key) == ("models-v2", "m.bin")
    assert caught.value.botwo_route is record.route
    (note,) = caught.value.__notes__
    assert "on its source through rule 0 (bucket_name='models') -> client 'src' failed" in note
    assert "client 'dst'" not in note


def test_a_merged_listing_names_the_backend_that_answered(s3: Any, backends: dict[str, Any]) -> None:
    # data/raw/ is lake's data-lake; the rest of data is s3's (which has it).
    backends["lake"].delete_bucket(Bucket="data-lake")
    with pytest.raises(s3.exceptions.NoSuchBucket) as caught:
        s3.list_objects_v2(Bucket="data")
    record = served(caught.value)
    assert record is not None and record.client == "lake"
    assert (record.route.rule_index, record.target_bucket) == (2, "data-lake")
    assert caught.value.response["Error"].get("BucketName", "data") == "data"
    (note,) = caught.value.__notes__
    assert note == (
        "botwo: list_objects_v2(Bucket='data') through rule 2 (bucket_name='data', prefix='raw/') "
        "-> client 'lake', target s3://data-lake"
    )


def test_the_bucket_list_names_the_client_that_is_down(backends: dict[str, Any], gone: Any) -> None:
    s3: Any = botwo.client(
        {"aws": backends["s3"], "lake": gone},
        [{"bucket_name": "repo", "client": "lake"}, {"bucket_name": "*", "client": "aws"}],
    )
    with pytest.raises(EndpointConnectionError) as caught:
        s3.list_buckets()
    record = served(caught.value)
    assert record is not None and record.client == "lake"
    assert caught.value.__notes__ == [
        "botwo: list_buckets() through every client's bucket list -> client 'lake' failed before S3 answered"
    ]
