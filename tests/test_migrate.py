"""Migrations: ``botwo.migrate`` / ``botwo migrate`` and ``botwo check --migration``, over real servers.

The ``s3``, ``lake`` and ``oracle`` fixture servers (one moto process each) play an old
store, the new one and a second old one. What landed is checked on each backend with
its own boto3 client, and the requests botwo's clients send are recorded
(:class:`tests.recorder.Sent`). The planning (:func:`botwo._migrate.plan`) is pure and
tested as such.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import botwo
from botwo._awsfmt import S3Url
from botwo._migrate import plan
from botwo._rules import Rule
from botwo.testing import LocalS3Server

from .recorder import Sent
from .test_cli import Cli, Result, toml_document

ROOT = Path(__file__).resolve().parent.parent

#: Bucket "media" moves from s3 to lake, renamed on every client of the chain.
RENAMED: list[dict[str, Any]] = [
    {
        "bucket_name": "media",
        "client": "lake",
        "mapped_bucket_name": "media-v2",
        "key_prefix": "main/",
        "fallback": ["s3"],
    },
    {"bucket_name": "*", "client": "s3"},
]


def _keys(client: Any, bucket: str, prefix: str = "") -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def _get(client: Any, bucket: str, key: str) -> bytes:
    data: bytes = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    return data


def _writes(sent: Sent) -> list[tuple[str, str, str]]:
    return [r for r in sent.requests if r[1] not in ("GET", "HEAD")]


@pytest.fixture
def renamed(backends: dict[str, Any]) -> tuple[Any, Sent, dict[str, Any]]:
    """media-v2/main/ on both stores: the old one full, the new one part copied, part rewritten."""
    s3, lake = backends["s3"], backends["lake"]
    for backend in (s3, lake):
        backend.create_bucket(Bucket="media-v2")
    for key, body in {"a.jpg": b"a", "b.jpg": b"b-old", "c/d.jpg": b"d", "e f+%.jpg": b"e"}.items():
        s3.put_object(Bucket="media-v2", Key=f"main/{key}", Body=body)
    s3.put_object(Bucket="media-v2", Key="elsewhere/x", Body=b"not the route's")  # outside key_prefix
    lake.put_object(Bucket="media-v2", Key="main/a.jpg", Body=b"a")  # copied already
    lake.put_object(Bucket="media-v2", Key="main/b.jpg", Body=b"b-NEW")  # held differently
    lake.put_object(Bucket="media-v2", Key="main/new.jpg", Body=b"written since")  # only the primary
    used = {"s3": s3, "lake": lake}
    return botwo.client(used, RENAMED), Sent(used), backends


def test_a_migration_copies_only_what_is_missing_or_different_with_the_renaming(
    renamed: tuple[Any, Sent, dict[str, Any]],
) -> None:
    client, sent, backends = renamed
    lake = backends["lake"]
    report = botwo.migrate(client, "s3://media")
    assert report.ok and report.left == 0, report
    (step,) = report.steps
    assert step.rule_index == 0 and step.fallback == "s3" and step.primary == "lake"
    assert (step.source, step.destination) == ("client:s3://media-v2/main/", "lake://media-v2/main/")
    assert step.copy is not None
    assert {r.key: r.action for r in step.copy.records()} == {
        "a.jpg": "same",
        "b.jpg": "copied",
        "c/d.jpg": "copied",
        "e f+%.jpg": "copied",
        "new.jpg": "extra",
    }
    assert step.verify.dry_run and step.verify.same == 4
    assert sorted(_keys(lake, "media-v2")) == [
        "main/a.jpg",
        "main/b.jpg",
        "main/c/d.jpg",
        "main/e f+%.jpg",
        "main/new.jpg",
    ]
    assert _get(lake, "media-v2", "main/b.jpg") == b"b-old"
    assert _get(lake, "media-v2", "main/new.jpg") == b"written since"  # never deleted
    assert {c for c, _, _ in _writes(sent)} == {"lake"}  # the fallback is only read
    # Through the rule, every caller key reads from the primary now.
    assert _get(client, "media", "c/d.jpg") == b"d"
    sent.clear()
    again = botwo.migrate(client, "s3://media/")
    assert again.ok and again.steps[0].copy is not None and again.steps[0].copy.copied == 0
    assert _writes(sent) == []  # listings only


def test_the_first_fallback_wins_where_several_hold_a_key(backends: dict[str, Any]) -> None:
    s3, lake, oracle = backends["s3"], backends["lake"], backends["oracle"]
    for backend in (s3, lake, oracle):
        backend.create_bucket(Bucket="media")
    s3.put_object(Bucket="media", Key="both", Body=b"from the first fallback")
    oracle.put_object(Bucket="media", Key="both", Body=b"from the second, which reads never reach")
    oracle.put_object(Bucket="media", Key="second-only", Body=b"2")
    client = botwo.client(
        {"s3": s3, "lake": lake, "oracle": oracle},
        [
            {"bucket_name": "media", "client": "lake", "fallback": ["s3", "oracle"]},
            {"bucket_name": "*", "client": "s3"},
        ],
    )
    assert _get(client, "media", "both") == b"from the first fallback"
    report = botwo.migrate(client, "s3://media/")
    assert report.ok, report
    assert [(s.fallback, s.copy.copied if s.copy else None) for s in report.steps] == [
        ("s3", 1),
        ("oracle", 1),
    ]
    assert _get(lake, "media", "both") == b"from the first fallback"
    assert _get(lake, "media", "second-only") == b"2"
    # "both" is the first fallback's: not taken from the second (only the primary has it, for that pair).
    assert {r.key: r.action for r in report.steps[1].verify.records()} == {
        "both": "extra",
        "second-only": "same",
    }


def test_a_split_bucket_migrates_only_its_routes_keys(backends: dict[str, Any]) -> None:
    # data/raw/ stays on s3 (an earlier rule); the rest of data moves to lake, reading through to s3.
    s3, lake = backends["s3"], backends["lake"]
    for backend in (s3, lake):
        backend.create_bucket(Bucket="data")
    for key in ("raw/x.csv", "raw/deep/y.csv", "reports/z.csv", "top.txt", "rawer/w"):
        s3.put_object(Bucket="data", Key=key, Body=key.encode())
    mapping = [
        {"bucket_name": "data", "prefix": "raw/", "client": "s3"},
        {"bucket_name": "data", "client": "lake", "fallback": ["s3"]},
        {"bucket_name": "*", "client": "s3"},
    ]
    client = botwo.client({"s3": s3, "lake": lake}, mapping)
    report = botwo.migrate(client, "s3://data")
    assert report.ok, report
    assert [s.rule_index for s in report.steps] == [1]
    assert report.skipped == (
        (0, "rule 0 (s3://data/raw/ -> client 's3') has no fallback: nothing to migrate"),
    )
    assert sorted(_keys(lake, "data")) == ["rawer/w", "reports/z.csv", "top.txt"]
    # A URL inside the route: only its keys, and filters relative to the URL.
    lake.delete_object(Bucket="data", Key="reports/z.csv")
    only = botwo.migrate(client, "s3://data/reports", exclude=["*"], include=["z.*"])
    assert [r.key for r in only.steps[0].verify.records()] == ["z.csv"]
    assert _get(lake, "data", "reports/z.csv") == b"reports/z.csv"


def test_a_rule_with_a_prefix_stripped_migrates_under_its_target_names(backends: dict[str, Any]) -> None:
    s3, lake = backends["s3"], backends["lake"]
    for backend in (s3, lake):
        backend.create_bucket(Bucket="data-lake")
    s3.create_bucket(Bucket="data")
    s3.put_object(Bucket="data-lake", Key="main/x.csv", Body=b"x")  # the old home of the same names
    s3.put_object(Bucket="data", Key="raw/x.csv", Body=b"the caller-named copy: not the fallback's")
    mapping = [
        {
            "bucket_name": "data",
            "prefix": "raw/",
            "strip_prefix": True,
            "client": "lake",
            "mapped_bucket_name": "data-lake",
            "key_prefix": "main/",
            "fallback": ["s3"],
        },
        {"bucket_name": "*", "client": "s3"},
    ]
    client = botwo.client({"s3": s3, "lake": lake}, mapping)
    (part, rest) = sorted(plan(client.rules, S3Url("data", "")), key=lambda p: p.route.rule_index)
    assert part.prefix == "raw/" and part.target_prefix == "main/" and rest.holes == ("raw/",)
    report = botwo.migrate(client, "s3://data/")
    assert report.ok and report.steps[0].source == "client:s3://data-lake/main/", report
    assert _keys(lake, "data-lake") == ["main/x.csv"] and _get(lake, "data-lake", "main/x.csv") == b"x"


def test_a_read_only_route_is_refused_before_anything_is_sent(backends: dict[str, Any]) -> None:
    used = {"s3": backends["s3"], "lake": backends["lake"]}
    client = botwo.client(
        used,
        [
            {"bucket_name": "ref", "prefix": "v1/", "client": "lake", "fallback": ["s3"], "readonly": True},
            {"bucket_name": "ref", "client": "lake", "fallback": ["s3"]},
            {"bucket_name": "*", "client": "s3"},
        ],
    )
    sent = Sent(used)
    for url in ("s3://ref/", "s3://ref/v1/a"):
        with pytest.raises(
            botwo.ReadOnlyError, match=r"rule 0 \(bucket_name='ref', prefix='v1/'\)"
        ) as caught:
            botwo.migrate(client, url, dry_run=True)
        assert caught.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(botwo.AddressError, match="s3:// URL"):
        botwo.migrate(client, "lake://ref/")
    with pytest.raises(ValueError, match="transfers"):
        botwo.migrate(client, "s3://ref/", transfers=0)
    assert sent.requests == []


def test_plan_lays_out_the_routes_and_their_holes() -> None:
    rules = [
        Rule(bucket_name="data", prefix="raw/", client="lake", key_prefix="main/", strip_prefix=True),
        Rule(bucket_name="data", client="lake", fallback=("s3",)),
        Rule(bucket_name="*", client="s3"),
    ]
    parts = plan(rules, S3Url("data", ""))
    assert [(p.route.rule_index, p.prefix, p.holes) for p in parts] == [(1, "", ("raw/",)), (0, "raw/", ())]
    whole, raw = parts
    assert not whole.owns("raw/x") and whole.owns("rawer") and whole.owns("x")
    assert raw.target_prefix == "main/" and raw.on("s3") == S3Url("data", "main/", "s3")
    assert plan(rules, S3Url("data", "raw/2024/"))[0].target_prefix == "main/2024/"


# -- the commands ---------------------------------------------------------------------------


@pytest.fixture
def cli(renamed: tuple[Any, Sent, dict[str, Any]], servers: dict[str, LocalS3Server], tmp_path: Path) -> Cli:
    used = {"s3": servers["s3"], "lake": servers["lake"]}
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTWO_")}
    env.update(S3_SECRET=used["s3"].secret_key, LAKE_SECRET=used["lake"].secret_key, PYTHONPATH=str(ROOT))
    work = tmp_path / "work"
    work.mkdir()
    made = Cli(used, work, env, tmp_path / "botwo.toml")
    made.config.write_text(toml_document(made.tables(), RENAMED), encoding="utf-8")
    return made


@pytest.fixture
def run_main(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> Callable[..., Result]:
    from botwo.__main__ import main

    for key, value in cli.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(cli.directory)

    def run(*args: str) -> Result:
        capsysbinary.readouterr()
        code = main([*args, "--config", str(cli.config)])
        captured = capsysbinary.readouterr()
        return Result(code, captured.out.decode(), captured.err.decode())

    return run


def test_check_exits_1_while_something_is_left_and_0_after_the_migration(
    cli: Cli, run_main: Callable[..., Result]
) -> None:
    before = run_main("migrate", "s3://media", "--check")
    assert before.code == 1 and before.out == "", before
    assert (
        "rule 0 (s3://media/ -> client 'lake'), fallback 's3': 3 left (2 missing, 1 different)" in before.err
    )
    dry = run_main("migrate", "s3://media", "--dry-run")
    assert dry.code == 1 and sorted(dry.out.splitlines()) == [
        f"(dryrun) copy: client:s3://media-v2/main/{k} to lake://media-v2/main/{k}"
        for k in ("b.jpg", "c/d.jpg", "e f+%.jpg")
    ], dry
    done = cli.run("migrate", "s3://media/", "--report", "m.jsonl")
    assert done.code == 0, done
    assert sorted(done.out.splitlines()) == [
        f"copy: client:s3://media-v2/main/{k} to lake://media-v2/main/{k}"
        for k in ("b.jpg", "c/d.jpg", "e f+%.jpg")
    ]
    assert "verified: nothing left (4 on 'lake')" in done.err and "migrate: nothing left" in done.err
    lines = [json.loads(line) for line in (cli.directory / "m.jsonl").read_text("utf-8").splitlines()]
    assert {(line["pass"], line["action"]) for line in lines} == {
        ("copy", "copied"),
        ("copy", "same"),
        ("copy", "extra"),
        ("verify", "same"),
        ("verify", "extra"),
    }
    assert {line["rule"] for line in lines} == {0} and {line["fallback"] for line in lines} == {"s3"}
    after = run_main("migrate", "s3://media", "--check")
    assert after.code == 0 and "nothing left" in after.err, after
    none = run_main("migrate", "s3://other/")
    assert none.code == 0 and "skip: rule 1 (s3://other/ -> client 's3') has no fallback" in none.err, none
    assert "nothing to migrate" in none.err.splitlines()[-1]
    usage = run_main("migrate", "lake://media-v2/")
    assert usage.code == 2 and "s3:// URL" in usage.err


def test_a_read_only_route_exits_2_naming_the_rule(cli: Cli, run_main: Callable[..., Result]) -> None:
    mapping = [{**RENAMED[0], "readonly": True}, RENAMED[1]]
    cli.config.write_text(toml_document(cli.tables(), mapping), encoding="utf-8")
    refused = run_main("migrate", "s3://media/")
    assert (
        refused.code == 2
        and "rule 0 (bucket_name='media')" in refused.err
        and "nothing was sent" in refused.err
    )


NOTE = "rule 0: every object of its fallback 's3' is on 'lake'; the fallback can be removed"


def test_check_says_a_fallback_can_go_after_a_clean_migration_only(
    cli: Cli, run_main: Callable[..., Result]
) -> None:
    before = run_main("check", "--migration", "--json")
    problems = json.loads(before.out)["problems"]
    assert NOTE not in [p["message"] for p in problems], before
    (pending,) = [p for p in problems if "fallback 's3'" in p["message"]]
    assert pending["severity"] == "note" and pending["rules"] == [0]
    assert "3 object(s) of its fallback 's3' are not on 'lake' yet" in pending["message"]
    assert "botwo migrate s3://media/" in pending["message"]
    assert run_main("migrate", "s3://media/").code == 0
    after = run_main("check", "--migration")
    assert after.code == 0 and NOTE in after.out, after
    plain = run_main("check")  # not asked: no comparison, no note
    assert plain.code == 0 and "fallback 's3'" not in plain.out, plain
