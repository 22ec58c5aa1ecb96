"""Corners where a backend's own names could reach the caller: connection errors, header
copies of translated members, bucket-list ARNs, and a bulk delete of no keys."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

import botwo
from botwo._fanout import BucketUnion
from botwo._rules import Rule
from botwo._table import RuleTable
from botwo.testing import LocalS3Server

RENAMING = [
    {"bucket_name": "mine", "mapped_bucket_name": "secret-target", "client": "lake", "key_prefix": "branch/"},
    {"bucket_name": "*", "client": "s3"},
]
TARGET_NAMES = ("secret-target", "branch/")


@pytest.fixture(scope="module")
def down() -> Any:
    """A client of a server that was started and stopped, whose endpoint has a password."""
    server = LocalS3Server("gone").start()
    client = server.client(
        endpoint_url=f"http://user:pa55word@127.0.0.1:{server.port}",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, connect_timeout=1),
    )
    server.stop()
    return client


@pytest.mark.parametrize(
    "call",
    [
        lambda s3: s3.get_object(Bucket="mine", Key="k.txt"),
        lambda s3: s3.put_object(Bucket="mine", Key="dir/k.txt", Body=b"x"),
        lambda s3: s3.list_objects_v2(Bucket="mine", Prefix="dir/"),
        lambda s3: s3.head_bucket(Bucket="mine"),
    ],
    ids=["get", "put", "list", "head_bucket"],
)
def test_an_unreachable_backend_is_named_by_its_endpoint_only(
    down: Any, backends: dict[str, Any], call: Callable[[Any], object]
) -> None:
    s3 = botwo.client({"lake": down, "s3": backends["s3"]}, RENAMING)
    with pytest.raises(BotoCoreError) as caught:
        call(s3)
    shown = "".join(traceback.format_exception(caught.value))
    assert not any(name in shown for name in (*TARGET_NAMES, "pa55word")), shown
    assert f'"http://127.0.0.1:{down.meta.endpoint_url.rsplit(":", 1)[1]}"' in str(caught.value)
    (note,) = caught.value.__notes__
    assert "Bucket='mine'" in note and "client 'lake'" in note


def test_header_copies_of_translated_members_are_translated(backends: dict[str, Any]) -> None:
    s3 = botwo.client({"lake": backends["lake"], "s3": backends["s3"]}, RENAMING)
    ours = s3.create_bucket(Bucket="mine")
    theirs = backends["oracle"].create_bucket(Bucket="mine")
    assert ours["Location"] == theirs["Location"] == "/mine"
    headers = ours["ResponseMetadata"]["HTTPHeaders"]
    assert headers["location"] == theirs["ResponseMetadata"]["HTTPHeaders"]["location"]
    assert not any(name in str(ours) for name in TARGET_NAMES)


def test_a_bulk_delete_of_no_keys_is_answered_as_s3_answers_it(backends: dict[str, Any]) -> None:
    s3 = botwo.client({"lake": backends["lake"], "s3": backends["s3"]}, RENAMING)
    backends["lake"].create_bucket(Bucket="secret-target")
    backends["oracle"].create_bucket(Bucket="mine")
    answers = []
    for client in (s3, backends["oracle"]):
        with pytest.raises(ClientError) as caught:
            client.delete_objects(Bucket="mine", Delete={"Objects": []})
        answers.append(caught.value.response["Error"]["Code"])
        assert not any(name in str(caught.value) for name in TARGET_NAMES)
    assert answers[0] == answers[1] == "MalformedXML"


class _Lister:
    """A client whose bucket list is given (S3 Express directory buckets carry an ARN)."""

    def __init__(self, buckets: list[dict[str, Any]]) -> None:
        self.buckets = buckets

    def list_directory_buckets(self, **params: Any) -> dict[str, Any]:
        return {"Buckets": self.buckets}


def test_bucket_list_arns_are_in_the_callers_names() -> None:
    target = "secret-target--use1-az4--x-s3"
    arn = f"arn:aws:s3express:us-east-1:123456789012:bucket/{target}"
    table = RuleTable(
        (
            Rule(bucket_name="mine--use1-az4--x-s3", mapped_bucket_name=target, client="lake"),
            Rule(bucket_name="*", client="s3"),
        )
    )
    lake = _Lister([{"Name": target, "BucketArn": arn}])
    clients = {"lake": lake, "s3": _Lister([])}

    class Inline:
        def map(self, f: Callable[[Any], Any], items: list[Any]) -> list[Any]:
            return [f(i) for i in items]

    union = BucketUnion(Inline(), table, clients, "s3", b"k" * 32)  # type: ignore[arg-type]
    (entry,) = union.send("list_directory_buckets")()["Buckets"]
    assert entry == {
        "Name": "mine--use1-az4--x-s3",
        "BucketArn": "arn:aws:s3express:us-east-1:123456789012:bucket/mine--use1-az4--x-s3",
    }
