"""Building a client: validation errors name the rule index and field."""

from __future__ import annotations

import warnings
from typing import Any

import boto3
import pytest

import botwo
from botwo import ConfigError, OverlappingTargetsWarning, Rule, RuleError, ShadowedRuleWarning


@pytest.fixture(scope="module")
def clients() -> dict[str, Any]:
    def make() -> Any:
        return boto3.client("s3", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")

    return {"s3": make(), "lakefs": make()}


CATCH_ALL = {"bucket_name": "*", "client": "s3"}


@pytest.mark.parametrize(
    ("rule", "field", "message"),
    [
        ({"bucket_name": "a", "client": "lakfs"}, "client", "unknown client 'lakfs'"),
        ({"bucket_name": "a", "client": "s3", "key_prefx": "x/"}, "key_prefx", "did you mean 'key_prefix'"),
        ({"bucket_name": "a", "client": "s3", "key_prefix": 5}, "key_prefix", "expected a string, got int"),
        ({"bucket_name": "", "client": "s3"}, "bucket_name", "must not be empty"),
        ({"client": "s3"}, "bucket_name", "is required"),
        ({"bucket_name": "a"}, "client", "is required"),
        ({"bucket_name": "a", "client": "s3", "strip_prefix": "yes"}, "strip_prefix", "true or false"),
        ({"bucket_name": "a", "client": "s3", "strip_prefix": True}, "strip_prefix", "non-empty 'prefix'"),
        ({"bucket_name": "a-*", "client": "s3", "mapped_bucket_name": "b"}, "mapped_bucket_name", "glob"),
        ({"bucket_name": "a", "client": "s3", "mapped_bucket_name": ""}, "mapped_bucket_name", "empty"),
        ({"bucket_name": "a", "client": "s3", "fallback": "lakefs"}, "fallback", "a list of client names"),
        ({"bucket_name": "a", "client": "s3", "fallback": [3]}, "fallback", "non-empty strings"),
        ({"bucket_name": "a", "client": "s3", "fallback": [""]}, "fallback", "non-empty strings"),
        ({"bucket_name": "a", "client": "s3", "fallback": ["lakefs", "lakefs"]}, "fallback", "twice"),
        ({"bucket_name": "a", "client": "s3", "fallback": ["lakefs", "s3"]}, "fallback", "own client 's3'"),
        ({"bucket_name": "a", "client": "s3", "fallback": ["lakfs"]}, "fallback", "unknown client 'lakfs'"),
        (
            {"bucket_name": "a", "client": "s3", "fallback_on_unreachable": True},
            "fallback_on_unreachable",
            "needs a 'fallback' list",
        ),
        (
            {"bucket_name": "a", "client": "s3", "fallback": [], "fallback_on_unreachable": True},
            "fallback_on_unreachable",
            "needs a 'fallback' list",
        ),
        (
            {"bucket_name": "a", "client": "s3", "fallback": ["lakefs"], "fallback_on_unreachable": 1},
            "fallback_on_unreachable",
            "true or false",
        ),
        ({"bucket_name": "a", "client": "s3", "readonly": "true"}, "readonly", "true or false"),
        ({"bucket_name": "a", "client": "s3", "read_only": True}, "read_only", "did you mean 'readonly'"),
    ],
)
def test_a_bad_rule_is_named_by_index_and_field(
    clients: dict[str, Any], rule: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(RuleError, match=message) as caught:
        botwo.client(clients, [{"bucket_name": "ok", "client": "s3"}, rule, CATCH_ALL])
    assert (caught.value.index, caught.value.field) == (1, field)
    assert str(caught.value).startswith(f"mapping[1].{field}: ")


def test_a_mapping_needs_a_catch_all(clients: dict[str, Any]) -> None:
    with pytest.raises(RuleError, match="no catch-all"):
        botwo.client(clients, [{"bucket_name": "a", "client": "s3"}])
    with pytest.raises(RuleError, match="no catch-all"):  # a prefix makes it partial
        botwo.client(clients, [{"bucket_name": "*", "client": "s3", "prefix": "x/"}])


def test_a_rule_that_is_not_a_dict(clients: dict[str, Any]) -> None:
    with pytest.raises(RuleError, match=r"mapping\[0\]: expected a dict or botwo.Rule, got str"):
        botwo.client(clients, ["*", CATCH_ALL])


def test_a_client_that_is_not_s3_is_named(clients: dict[str, Any]) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
    with pytest.raises(RuleError, match=r"mapping\[0\].client: clients\['q'\] .* got a 'sqs' client"):
        botwo.client({**clients, "q": sqs}, [{"bucket_name": "a", "client": "q"}, CATCH_ALL])
    with pytest.raises(ConfigError, match=r"clients\['x'\] is not an S3 client: got object"):
        botwo.client({**clients, "x": object()}, [CATCH_ALL])


def test_the_clients_must_be_a_dict(clients: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="non-empty dict"):
        botwo.client({}, [CATCH_ALL])
    with pytest.raises(ConfigError, match="non-empty dict"):
        botwo.client([clients["s3"]], [CATCH_ALL])  # type: ignore[arg-type]


def test_rule_objects_and_dicts_mix(clients: dict[str, Any]) -> None:
    s3 = botwo.client(clients, [Rule(bucket_name="a", client="lakefs", key_prefix="x/"), CATCH_ALL])
    assert s3.rules == (
        Rule(bucket_name="a", client="lakefs", key_prefix="x/"),
        Rule(bucket_name="*", client="s3"),
    )
    with pytest.raises(RuleError) as caught:
        Rule(bucket_name="a", client="s3", prefix=3)  # type: ignore[arg-type]
    assert str(caught.value) == "Rule.prefix: expected a string, got int 3"


def test_a_shadowed_rule_is_warned(clients: dict[str, Any]) -> None:
    with pytest.warns(ShadowedRuleWarning, match=r"mapping\[1\] .* can never match: mapping\[0\]"):
        botwo.client(
            clients,
            [
                {"bucket_name": "logs-*", "client": "s3"},
                {"bucket_name": "logs-1", "client": "lakefs"},
                CATCH_ALL,
            ],
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        botwo.client(
            clients,
            [
                {"bucket_name": "logs-1", "client": "lakefs"},
                {"bucket_name": "logs-*", "client": "s3"},
                CATCH_ALL,
            ],
        )


def test_rule_errors_pickle() -> None:
    import pickle

    err = RuleError(3, "client", "unknown client 'x'")
    again = pickle.loads(pickle.dumps(err))
    assert (again.index, again.field, str(again)) == (3, "client", str(err))


@pytest.mark.parametrize(
    "rules",
    [
        # two stripped prefixes of one bucket into one target space: raw/x and cur/x collide
        [
            {
                "bucket_name": "data",
                "prefix": "raw/",
                "strip_prefix": True,
                "client": "lakefs",
                "mapped_bucket_name": "repo",
                "key_prefix": "main/",
            },
            {
                "bucket_name": "data",
                "prefix": "curated/",
                "client": "lakefs",
                "mapped_bucket_name": "repo",
                "key_prefix": "main/",
            },
        ],
        # two caller buckets renamed into one target bucket with nested key prefixes
        [
            {"bucket_name": "a", "client": "lakefs", "mapped_bucket_name": "repo", "key_prefix": "main/"},
            {"bucket_name": "b", "client": "lakefs", "mapped_bucket_name": "repo", "key_prefix": "main/b/"},
        ],
        # a renamed bucket that the catch-all also reaches under its own name
        [{"bucket_name": "old", "client": "s3", "mapped_bucket_name": "new"}],
    ],
)
def test_overlapping_target_namespaces_are_warned(
    clients: dict[str, Any], rules: list[dict[str, Any]]
) -> None:
    with pytest.warns(OverlappingTargetsWarning, match="one target namespace"):
        botwo.client(clients, [*rules, CATCH_ALL])


def test_consistent_and_disjoint_namespaces_are_quiet(clients: dict[str, Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        botwo.client(
            clients,
            [
                # the same renaming for the same bucket through two rules: one function
                {
                    "bucket_name": "data",
                    "prefix": "raw/",
                    "client": "lakefs",
                    "mapped_bucket_name": "repo",
                    "key_prefix": "main/",
                },
                {
                    "bucket_name": "data",
                    "client": "lakefs",
                    "mapped_bucket_name": "repo",
                    "key_prefix": "main/",
                },
                # disjoint branches of one repository
                {"bucket_name": "a", "client": "lakefs", "mapped_bucket_name": "r2", "key_prefix": "main/"},
                {"bucket_name": "b", "client": "lakefs", "mapped_bucket_name": "r2", "key_prefix": "dev/"},
                CATCH_ALL,
            ],
        )


def test_the_new_fields_round_trip(clients: dict[str, Any]) -> None:
    rule = {
        "bucket_name": "a",
        "client": "s3",
        "fallback": ["lakefs"],
        "fallback_on_unreachable": True,
        "readonly": True,
    }
    s3 = botwo.client(clients, [rule, CATCH_ALL])
    parsed = s3.rules[0]
    assert parsed.fallback == ("lakefs",)  # a list becomes a tuple: the rule stays frozen and hashable
    assert parsed.to_dict() == rule
    assert Rule(**parsed.to_dict()) == parsed
    assert hash(parsed) == hash(Rule(**rule))
    # Defaults are left out of to_dict, as for the other fields.
    assert s3.rules[1].to_dict() == CATCH_ALL
    assert Rule(bucket_name="b", client="s3", fallback=(), readonly=False).to_dict() == {
        "bucket_name": "b",
        "client": "s3",
    }


def test_a_rule_built_alone_names_the_new_fields() -> None:
    with pytest.raises(RuleError) as caught:
        Rule(bucket_name="a", client="s3", fallback=["s3"])
    assert str(caught.value) == "Rule.fallback: lists the rule's own client 's3'"
    with pytest.raises(RuleError) as caught:
        Rule(bucket_name="a", client="s3", fallback_on_unreachable=True)
    assert caught.value.field == "fallback_on_unreachable"
    # An unknown fallback client is only known against the clients: botwo.client says so.
    assert Rule(bucket_name="a", client="s3", fallback=["elsewhere"]).fallback == ("elsewhere",)


def test_a_prebuilt_rule_is_revalidated_with_its_index(clients: dict[str, Any]) -> None:
    rule = Rule(bucket_name="a", client="s3", fallback=["nowhere"])
    with pytest.raises(RuleError) as caught:
        botwo.client(clients, [CATCH_ALL, rule])
    assert (caught.value.index, caught.value.field) == (1, "fallback")
    assert str(caught.value).startswith("mapping[1].fallback: unknown client 'nowhere'")


def test_a_fallback_client_that_is_not_s3_is_named_by_its_field(clients: dict[str, Any]) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
    with pytest.raises(RuleError) as caught:
        botwo.client(
            {**clients, "q": sqs}, [{"bucket_name": "a", "client": "s3", "fallback": ["q"]}, CATCH_ALL]
        )
    assert (caught.value.index, caught.value.field) == (0, "fallback")
    assert str(caught.value) == (
        "mapping[0].fallback: clients['q'] (used by mapping[0].fallback) "
        "is not an S3 client: got a 'sqs' client"
    )
