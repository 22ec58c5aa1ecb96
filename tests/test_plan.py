"""The planner: one Plan per call, made from plain data, without sending anything.

The clients here are stand-ins that fail if anything is sent through them: planning must
not call a backend (the same plans are to be carried out by another shell later).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from botwo import ReadOnlyError, Rule
from botwo._operations import ListingSpec, OpSpec, operation_table
from botwo._plan import Plan, Planner, Via
from botwo._table import Route, RuleTable
from botwo._translate import DeleteGroup, object_request

MODEL = boto3.session.Session().client("s3", region_name="us-east-1").meta.service_model
OPS = operation_table(MODEL)


class Backend:
    """A client that must never be called while planning."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, method: str) -> Any:
        def send(**params: Any) -> Any:
            raise AssertionError(f"planning sent {method} to {self.name}")

        return send


class Senders:
    """Records which fan-out the planner asked for; sends nothing."""

    def __init__(self, clients: Mapping[str, Any]) -> None:
        self.clients = clients
        self.asked: list[tuple[str, Any]] = []

    def _send(self, what: str, detail: Any) -> Any:
        self.asked.append((what, detail))

        def send(**params: Any) -> Any:
            raise AssertionError(f"planning ran the {what} send")

        return send

    def reads(self, route: Route, method: str) -> Any:
        return self._send("reads", (route.clients, method))

    def merged_listing(
        self, spec: OpSpec, listing: ListingSpec, plan: Sequence[Any], params: Mapping[str, Any]
    ) -> Any:
        return self._send("merged", [r.rule_index for r, _, _ in plan])

    def split_delete(self, groups: Sequence[DeleteGroup], objects: Sequence[Mapping[str, Any]]) -> Any:
        return self._send("split", [g.indexes for g in groups])

    def bucket_union(self, method: str) -> Any:
        return self._send("union", method)

    def streamed_copy(self, source: Route, dest: Route, method: str) -> Any:
        return self._send("streamed", (source.client, dest.client, method))


RULES = (
    Rule(bucket_name="ref", client="lake", readonly=True),
    Rule(bucket_name="data", prefix="raw/", client="lake", key_prefix="main/", strip_prefix=True),
    Rule(bucket_name="old", client="lake", fallback=("aws",), mapped_bucket_name="repo"),
    Rule(bucket_name="*", client="aws"),
)


def planner(rules: tuple[Rule, ...] = RULES) -> tuple[Planner, Senders, dict[str, Backend]]:
    clients = {"aws": Backend("aws"), "lake": Backend("lake")}
    senders = Senders(clients)
    made = Planner(RuleTable(rules), senders, MODEL, default_client="aws", token_key=b"k" * 32)
    return made, senders, clients


def test_an_object_call_is_one_backend_call_in_target_names() -> None:
    plan_of, _, clients = planner()
    params = {"Bucket": "data", "Key": "raw/a.csv", "Range": "bytes=0-1"}
    plan = plan_of.plan(OPS["get_object"], params)
    assert isinstance(plan, Plan) and plan.how is Via.BACKEND
    assert plan.single_backend is clients["lake"]
    assert plan.params == {"Bucket": "data", "Key": "main/a.csv", "Range": "bytes=0-1"}
    assert params == {"Bucket": "data", "Key": "raw/a.csv", "Range": "bytes=0-1"}  # the caller's, unchanged
    assert plan.key_pairs == (("main/a.csv", "raw/a.csv"),)
    assert plan.route.rule_index == 1
    assert plan.finish is None  # a GetObject answer names no bucket or key: nothing to translate


def test_a_call_the_rules_forbid_is_refused_while_planning() -> None:
    plan_of, _, _ = planner()
    with pytest.raises(ReadOnlyError) as caught:
        plan_of.plan(OPS["put_object"], {"Bucket": "ref", "Key": "k", "Body": b""})
    assert caught.value.route is not None and caught.value.route.rule_index == 0


def test_reads_with_fallbacks_have_no_single_backend_and_writes_do() -> None:
    plan_of, senders, clients = planner()
    read = plan_of.plan(OPS["get_object"], {"Bucket": "old", "Key": "k"})
    assert read.how is Via.FALLBACK and read.single_backend is None
    assert senders.asked == [("reads", (("lake", "aws"), "get_object"))]
    write = plan_of.plan(OPS["put_object"], {"Bucket": "old", "Key": "k"})
    assert write.how is Via.BACKEND and write.single_backend is clients["lake"]
    assert write.params["Bucket"] == "repo"


def test_spanning_calls_are_planned_as_fan_outs() -> None:
    plan_of, senders, _ = planner()
    listing = plan_of.plan(OPS["list_objects_v2"], {"Bucket": "data"})
    assert listing.how is Via.MERGED and listing.single_backend is None
    delete = plan_of.plan(
        OPS["delete_objects"], {"Bucket": "data", "Delete": {"Objects": [{"Key": "raw/a"}, {"Key": "b"}]}}
    )
    assert delete.how is Via.SPLIT
    copy = plan_of.plan(OPS["copy_object"], {"Bucket": "plain", "Key": "c", "CopySource": "data/raw/a"})
    assert copy.how is Via.STREAMED and copy.params["CopySource"] == {"Bucket": "data", "Key": "main/a"}
    buckets = plan_of.plan(OPS["list_buckets"], {})
    assert buckets.how is Via.UNION
    assert [what for what, _ in senders.asked] == ["merged", "split", "streamed", "union"]
    assert senders.asked[1] == ("split", [(0,), (1,)])


keys = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20)


@given(key=keys, strip=st.booleans(), key_prefix=st.sampled_from(["", "main/", "a b/"]))
def test_planned_object_keys_round_trip(key: str, strip: bool, key_prefix: str) -> None:
    rules = (
        Rule(bucket_name="b", prefix="p/", client="lake", key_prefix=key_prefix, strip_prefix=strip),
        Rule(bucket_name="*", client="aws"),
    )
    plan_of, _, _ = planner(rules)
    params = {"Bucket": "b", "Key": "p/" + key, "Range": "bytes=0-1"}
    plan = plan_of.plan(OPS["head_object"], params)
    # The planner's inlined rewrite is the one _translate defines.
    assert plan.params == object_request(plan.route, params, "p/" + key)
    assert params == {"Bucket": "b", "Key": "p/" + key, "Range": "bytes=0-1"}
    (target, caller), *_ = plan.key_pairs or ((plan.params["Key"], "p/" + key),)
    assert caller == "p/" + key and target == plan.params["Key"]
    assert plan.route.to_caller_key(target) == caller
    assert target == key_prefix + ("" if strip else "p/") + key
