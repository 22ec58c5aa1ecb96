"""The compiled rule table against a naive first-match scan of the rule list."""

from __future__ import annotations

import fnmatch

from hypothesis import given
from hypothesis import strategies as st

from botwo._rules import Rule
from botwo._table import RuleTable, successor

PATTERNS = ["a", "b", "ab", "a*", "?", "[ab]", "[!a]*", "*b", "*"]
BUCKETS = ["a", "b", "ab", "ba", "c", "abc"]
text = st.text("ab/", max_size=4)


@st.composite
def tables(draw: st.DrawFn) -> tuple[Rule, ...]:
    rules = draw(
        st.lists(
            st.builds(
                lambda pattern, prefix, client: Rule(bucket_name=pattern, client=client, prefix=prefix),
                st.sampled_from(PATTERNS),
                text,
                st.sampled_from(["x", "y"]),
            ),
            max_size=8,
        )
    )
    return (*rules, Rule(bucket_name="*", client="default"))


def naive(rules: tuple[Rule, ...], bucket: str, key: str) -> int:
    return next(
        i
        for i, r in enumerate(rules)
        if fnmatch.fnmatchcase(bucket, r.bucket_name) and key.startswith(r.prefix)
    )


@given(tables(), st.sampled_from(BUCKETS), text)
def test_route_is_the_first_matching_rule(rules: tuple[Rule, ...], bucket: str, key: str) -> None:
    assert RuleTable(rules).route(bucket, key).rule_index == naive(rules, bucket, key)


@given(
    st.lists(st.builds(lambda p, c: Rule(bucket_name="a", client=c, prefix=p), st.text("ab/", max_size=5),
                       st.sampled_from(["x", "y"])), min_size=17, max_size=60),
    st.text("ab/", max_size=7),
)
def test_route_among_many_prefixes_is_the_first_matching_rule(rules: list[Rule], key: str) -> None:
    # Past a few prefixes a bucket's keys are matched by length, not with one startswith.
    table = (*rules, Rule(bucket_name="*", client="default"))
    assert RuleTable(table).route("a", key).rule_index == naive(table, "a", key)


@given(tables(), st.sampled_from(BUCKETS))
def test_bucket_calls_take_the_first_matching_rule_without_prefix(
    rules: tuple[Rule, ...], bucket: str
) -> None:
    expected = next(
        i for i, r in enumerate(rules) if fnmatch.fnmatchcase(bucket, r.bucket_name) and not r.prefix
    )
    assert RuleTable(rules).route_bucket(bucket).rule_index == expected


@given(tables(), st.sampled_from(BUCKETS), text, st.lists(text, max_size=12))
def test_listing_plan_gives_every_key_to_its_one_route(
    rules: tuple[Rule, ...], bucket: str, prefix: str, suffixes: list[str]
) -> None:
    plan = RuleTable(rules).listing_plan(bucket, prefix)
    assert plan[0][0].rule_index == naive(rules, bucket, prefix)
    assert plan[0][1] == prefix
    for route, list_prefix, holes in plan:
        assert list(holes) == sorted(holes)
        assert not any(b.startswith(a) for a in holes for b in holes if a != b)
        assert list_prefix.startswith(prefix) and list_prefix.startswith(route.owns)
    for suffix in ["", "a", "b/", "ab", "/b", *suffixes]:
        key = prefix + suffix
        serving = [
            route.rule_index
            for route, list_prefix, holes in plan
            if key.startswith(list_prefix) and not any(key.startswith(h) for h in holes)
        ]
        assert serving == [naive(rules, bucket, key)]


@given(tables(), st.sampled_from(BUCKETS), text)
def test_shadowed_rules_never_match(rules: tuple[Rule, ...], bucket: str, key: str) -> None:
    shadowed = {j for j, _ in RuleTable(rules).shadowed()}
    assert naive(rules, bucket, key) not in shadowed


def test_shadowing_is_reported_with_the_rule_that_shadows() -> None:
    rules = (
        Rule(bucket_name="data", client="x"),
        Rule(bucket_name="data", client="y", prefix="raw/"),  # shadowed by 0
        Rule(bucket_name="logs-*", client="x"),
        Rule(bucket_name="logs-2024", client="y"),  # shadowed by 2
        Rule(bucket_name="*", client="x"),
        Rule(bucket_name="other", client="y"),  # shadowed by the catch-all
    )
    assert RuleTable(rules).shadowed() == [(1, 0), (3, 2), (5, 4)]


@given(text, st.text("ab/\U0010ffff", max_size=6))
def test_successor_bounds_the_strings_with_a_prefix(prefix: str, other: str) -> None:
    upper = successor(prefix)
    if other.startswith(prefix):
        assert upper is None or other < upper
    elif other > prefix:
        assert upper is not None and other >= upper


def test_many_rules_compile_and_route() -> None:
    rules = tuple(Rule(bucket_name=f"b{i}", client="x", prefix=f"p{i % 50}/") for i in range(10_000))
    table = RuleTable((*rules, Rule(bucket_name="*", client="y")))
    assert table.route("b4321", "p21/k").rule_index == 4321
    assert table.route("b4321", "p22/k").client == "y"
    assert table.route_bucket("b4321").client == "y"


def test_case_and_backslash_are_literal_in_globs() -> None:
    table = RuleTable((Rule(bucket_name="Data-*", client="x"), Rule(bucket_name="*", client="y")))
    assert table.route("Data-1", "k").client == "x"
    assert table.route("data-1", "k").client == "y"
    table = RuleTable((Rule(bucket_name="a\\*", client="x"), Rule(bucket_name="*", client="y")))
    assert table.route("a\\b", "k").client == "x"
