"""``botwo check``: load the configuration, lint the rules, probe every backend.

Theory of operation
-------------------
1. **Load** the configuration (:func:`botwo.load_config`). A :class:`ConfigError` is
   printed as it is (it names the file and the field) and the exit status is 2.
2. **Build** the routing client with the warnings recorded: :class:`ConfigWarning`
   (an ignored part of the environment), :class:`ShadowedRuleWarning`,
   :class:`OverlappingTargetsWarning` and :class:`PrefixWithoutSlashWarning` become
   problems.
3. **Probe** each client, all at once, with a client made from the same settings but
   short timeouts and one retry (:meth:`ClientSettings.build` overrides): ``list_buckets``
   says both that the endpoint answers and that the credentials are accepted (S3 checks
   the signature before the permissions, so ``AccessDenied`` still means "accepted").
   Scoped credentials often may not list buckets: then ``head_bucket`` on the client's
   literal target buckets. ``InvalidAccessKeyId`` / ``SignatureDoesNotMatch`` and
   connection errors fail the probe.
4. **Lint** (:func:`lint`, pure) the rules against what the probes saw: a target
   bucket that a literal bucket name reaches (:func:`literal_routes`: through its own
   rules, or through a glob rule that takes the rest of a split bucket) missing on its
   client (error; on a fallback client, a warning),
   buckets that exist on a backend and that no rule reaches (warning), glob rules that
   match no existing bucket (note).
5. **Migrations** (``--migration`` only): for each rule with ``fallback``, a dry run of
   ``botwo migrate`` on its own keys (:func:`migration_problems`) says whether each
   fallback still holds something its client lacks. It lists both sides whole, so plain
   ``botwo check`` stays a few requests per client.
6. **Report**: a client table (each endpoint with where it came from, as for the
   secrets), the rule table, the problems and a summary line; or JSON.
   Exit 1 when a probe failed or there is an error (or, with ``--strict``, a warning).

No secret is ever printed: client summaries come from :meth:`ClientSettings.describe`,
and every line is passed through :func:`redact`, which masks the configured secrets.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, NoCredentialsError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from ._awsfmt import S3Url
from ._client import RoutingClient
from ._config import Settings, load
from ._describe import RULE_COLUMNS, rule_row, text_table
from ._factory import from_settings
from ._migrate import fallback_parts, run_parts
from ._redact import SECRET_FIELDS, redact, url_passwords
from ._rules import Rule, compile_glob, is_glob
from ._s3 import BUCKET_NOT_FOUND
from .errors import (
    BotwoError,
    ConfigError,
    ConfigWarning,
    OverlappingTargetsWarning,
    PrefixWithoutSlashWarning,
    ShadowedRuleWarning,
)

__all__ = [
    "Probe",
    "Problem",
    "add_check_parser",
    "cmd_check",
    "lint",
    "probe_client",
]

#: The error codes of credentials that the service does not accept.
REJECTED = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "ExpiredToken",
        "InvalidClientTokenId",
        "AuthorizationHeaderMalformed",
    }
)
#: Codes that mean "who you are is known, but this is not allowed".
DENIED = frozenset({"AccessDenied", "AllAccessDisabled", "403"})
NOT_FOUND = BUCKET_NOT_FOUND
SEVERITIES = ("error", "warning", "note")
#: How many bucket names one problem line lists.
NAMES_SHOWN = 10


@attrs.frozen
class Probe:
    """What probing one client found.

    ``ok`` is ``None`` when the client was not probed (``--no-probe``). ``buckets`` is
    every bucket ``list_buckets`` returned (``None`` when it could not list).
    ``missing`` and ``denied`` are literal target buckets that ``head_bucket`` found
    absent or forbidden.
    """

    client: str
    ok: bool | None
    detail: str
    buckets: frozenset[str] | None = None
    missing: frozenset[str] = frozenset()
    denied: frozenset[str] = frozenset()

    @property
    def status(self) -> str:
        return "not probed" if self.ok is None else "ok" if self.ok else "FAIL"


@attrs.frozen
class Problem:
    """One finding: ``severity`` is error, warning or note; ``rules`` the rules concerned."""

    severity: str
    message: str
    rules: tuple[int, ...] = ()


# -- probing ----------------------------------------------------------------------------


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", "Unknown"))


def _list_buckets(client: Any) -> frozenset[str]:
    names: set[str] = set()
    for page in client.get_paginator("list_buckets").paginate():
        names.update(b["Name"] for b in page.get("Buckets", []))
    return frozenset(names)


def _head_targets(client: Any, name: str, targets: Collection[str], why: str) -> Probe:
    """Credentials that may not list buckets: are the literal target buckets there?"""
    missing: set[str] = set()
    denied: set[str] = set()
    seen = 0
    for bucket in sorted(targets):
        try:
            client.head_bucket(Bucket=bucket)
            seen += 1
        except ClientError as err:
            (missing if _code(err) in NOT_FOUND else denied).add(bucket)
    detail = f"credentials accepted; list_buckets: {why}"
    if targets:
        detail += f"; {seen} of {len(targets)} target bucket(s) reachable"
    else:
        detail += "; no literal target bucket to check"
    return Probe(name, True, detail, None, frozenset(missing), frozenset(denied))


def probe_client(name: str, build: Callable[[], Any], targets: Collection[str]) -> Probe:
    """Probe one client: reachable, credentials accepted, which buckets it has."""
    try:
        client = build()
        try:
            buckets = _list_buckets(client)
        except ClientError as err:
            code = _code(err)
            if code in DENIED:
                return _head_targets(client, name, targets, code)
            if code in REJECTED:
                return Probe(name, False, f"credentials rejected ({code})")
            return Probe(name, False, f"list_buckets failed: {err}")
    except NoCredentialsError:
        return Probe(name, False, "no credentials: boto3's default chain found none")
    except (BotocoreConnectionError, HTTPClientError) as err:
        return Probe(name, False, f"unreachable: {err}")
    except (BotoCoreError, ConfigError) as err:
        return Probe(name, False, str(err))
    return Probe(name, True, f"credentials accepted; {len(buckets)} bucket(s)", buckets)


Decide = Callable[[str, "str | None"], Any]


def literal_routes(rules: Sequence[Rule], decide: Decide) -> list[tuple[str, int, int]]:
    """Every (caller bucket, rule) that a literal bucket name reaches, as ``(bucket, rule
    index, index of the first literal rule that names the bucket)``.

    A literal bucket's calls go through its own rules and through every glob rule that
    matches it for the keys its rules do not take (a rule with a ``prefix`` splits the
    bucket: the rest goes on down the table, often to the catch-all). A rule is reached
    when some call on the bucket goes through it: the route of its own prefix is it.
    """
    named: dict[str, int] = {}
    for i, rule in enumerate(rules):
        if not is_glob(rule.bucket_name):
            named.setdefault(rule.bucket_name, i)
    found = []
    for bucket, by in named.items():
        for i, rule in enumerate(rules):
            if is_glob(rule.bucket_name):
                if not compile_glob(rule.bucket_name).match(bucket):
                    continue
            elif rule.bucket_name != bucket:
                continue
            if decide(bucket, rule.prefix or None).rule_index == i:
                found.append((bucket, i, by))
    return found


def probe_targets(rules: Sequence[Rule], decide: Decide) -> dict[str, set[str]]:
    """Client name -> the target buckets that literal bucket names reach on it (through
    the rule's client or its fallbacks): what ``head_bucket`` asks of scoped credentials."""
    found: dict[str, set[str]] = {}
    reached = [(rules[i], bucket) for bucket, i, _ in literal_routes(rules, decide)]
    literal = [(rule, rule.bucket_name) for rule in rules if not is_glob(rule.bucket_name)]
    for rule, bucket in literal + reached:
        for name in (rule.client, *rule.fallback):
            found.setdefault(name, set()).add(rule.mapped_bucket_name or bucket)
    return found


def probe_all(settings: Settings, targets: Mapping[str, Collection[str]], timeout: float) -> dict[str, Probe]:
    """Every client probed at once, each with short timeouts and one retry; ``targets``
    are the buckets to ask about when a client may not list them."""
    overrides = {
        "connect_timeout": timeout,
        "read_timeout": timeout,
        "retries": {"total_max_attempts": 2, "mode": "standard"},
    }
    names = list(settings.clients)

    def one(name: str) -> Probe:
        spec = settings.clients[name]
        return probe_client(name, lambda: spec.build(**overrides), targets.get(name, set()))

    with ThreadPoolExecutor(max(1, min(8, len(names))), thread_name_prefix="botwo-check") as pool:
        return dict(zip(names, pool.map(one, names), strict=True))


# -- linting (pure) -----------------------------------------------------------------------


def warning_problems(caught: Iterable[warnings.WarningMessage]) -> list[Problem]:
    """The rule warnings recorded while building the client."""
    found = []
    for warning in caught:
        message, text = warning.message, str(warning.message)
        if isinstance(message, ShadowedRuleWarning):
            found.append(Problem("warning", text, () if message.rule is None else (message.rule,)))
        elif isinstance(message, OverlappingTargetsWarning):
            found.append(Problem("warning", text, message.rules))
        elif isinstance(message, PrefixWithoutSlashWarning):
            found.append(Problem("warning", text, () if message.rule is None else (message.rule,)))
        elif issubclass(warning.category, ConfigWarning):
            found.append(Problem("warning", text))
    return found


def _reaches(index: int, rule: Rule, client: str, bucket: str, decide: Decide) -> bool:
    """Whether calls through rule ``index`` can reach ``bucket`` on ``client``."""
    if client not in (rule.client, *rule.fallback):
        return False
    if is_glob(rule.bucket_name):
        if not compile_glob(rule.bucket_name).match(bucket):
            return False
        caller = bucket
    else:
        if (rule.mapped_bucket_name or rule.bucket_name) != bucket:
            return False
        caller = rule.bucket_name
    return bool(decide(caller, rule.prefix or None).rule_index == index)


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:NAMES_SHOWN])
    return shown + (f" and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else "")


def _target_problems(rules: Sequence[Rule], probes: Mapping[str, Probe], decide: Decide) -> list[Problem]:
    """A target bucket that a literal bucket name reaches and that is not there: through
    its own rule, or through a glob rule that takes the rest of a split bucket (a rule that
    never matches is warned about already)."""
    found = []
    for bucket, i, by in literal_routes(rules, decide):
        rule = rules[i]
        target = rule.mapped_bucket_name or bucket
        head, whose = f"mapping[{i}]: ", f"target bucket {target!r}"
        if is_glob(rule.bucket_name):  # its own fields do not name the bucket: say which rule does
            head += f"bucket {bucket!r} (named by mapping[{by}]) goes through this rule, and "
            whose = "its " + whose
        for name in (rule.client, *rule.fallback):
            probe = probes.get(name)
            if probe is None or not probe.ok:
                continue
            primary = name == rule.client
            role = "client" if primary else "fallback client"
            if target in probe.missing or (probe.buckets is not None and target not in probe.buckets):
                message = f"{head}{whose} does not exist on {role} {name!r}"
            elif target in probe.denied:
                message = f"{head}{role} {name!r} may not access {whose} (403)"
            else:
                continue
            found.append(Problem("error" if primary else "warning", message, (i,)))
    return found


def _unreached_problems(rules: Sequence[Rule], probes: Mapping[str, Probe], decide: Decide) -> list[Problem]:
    found = []
    for name, probe in probes.items():
        if probe.buckets is None:
            continue
        lost = sorted(
            b for b in probe.buckets if not any(_reaches(i, r, name, b, decide) for i, r in enumerate(rules))
        )
        if lost:
            found.append(
                Problem(
                    "warning",
                    f"client {name!r} has {len(lost)} bucket(s) that no rule reaches: {_names(lost)}",
                )
            )
    return found


def _glob_notes(rules: Sequence[Rule], probes: Mapping[str, Probe]) -> list[Problem]:
    found = []
    for i, rule in enumerate(rules):
        probe = probes.get(rule.client)
        if not is_glob(rule.bucket_name) or probe is None or probe.buckets is None:
            continue
        pattern = compile_glob(rule.bucket_name)
        if not any(pattern.match(b) for b in probe.buckets):
            found.append(
                Problem(
                    "note",
                    f"mapping[{i}]: bucket_name {rule.bucket_name!r} matches no existing bucket "
                    f"on client {rule.client!r}",
                    (i,),
                )
            )
    return found


def lint(
    rules: Sequence[Rule],
    probes: Mapping[str, Probe],
    decide: Decide,
    caught: Iterable[warnings.WarningMessage] = (),
) -> list[Problem]:
    """Every problem of the rules, given what the probes saw; errors first."""
    found = [
        *warning_problems(caught),
        *_target_problems(rules, probes, decide),
        *_unreached_problems(rules, probes, decide),
        *_glob_notes(rules, probes),
    ]
    return sorted(found, key=lambda p: SEVERITIES.index(p.severity))


# -- migrations (reads both sides) --------------------------------------------------------


def migration_problems(client: RoutingClient, probes: Mapping[str, Probe]) -> list[Problem]:
    """For each rule with ``fallback`` (in each literal bucket that reaches it): whether
    its client holds every object a read could still find on a fallback.

    A dry run of ``botwo migrate`` restricted to the rule's own keys: both sides are
    listed whole, which is why ``botwo check`` does it only with ``--migration``. A
    fallback with nothing left is a note that it can be removed; one with objects left is
    a note saying how many; a comparison that failed is a warning.
    """
    rules = client.rules
    found: list[Problem] = []
    for bucket, i, _ in literal_routes(rules, client.route):
        rule = rules[i]
        if not rule.fallback:
            continue
        where = f"rule {i}" + (f" (bucket {bucket!r})" if is_glob(rule.bucket_name) else "")
        failed = [
            n for n in (rule.client, *rule.fallback) if (probes.get(n) or Probe(n, None, "")).ok is False
        ]
        if failed:
            message = f"{where}: its fallback is not compared: client {failed[0]!r} failed its probe"
            found.append(Problem("warning", message, (i,)))
            continue
        url = S3Url(bucket, rule.prefix)
        try:
            report = run_parts(
                client, url, fallback_parts(rules, bucket, i), dry_run=True, refuse_readonly=False
            )
        except (BotwoError, OSError) as err:
            message = f"{where}: its fallback could not be compared with {rule.client!r}: {err}"
            found.append(Problem("warning", message, (i,)))
            continue
        for step in report.steps:
            counts = step.verify.counts
            if step.ok:
                message = (
                    f"{where}: every object of its fallback {step.fallback!r} is on {step.primary!r}; "
                    "the fallback can be removed"
                )
                found.append(Problem("note", message, (i,)))
            elif counts["failed"]:
                message = (
                    f"{where}: {counts['failed']:,} object(s) of its fallback {step.fallback!r} could "
                    f"not be compared with {step.primary!r}: {step.verify.failures[0].reason}"
                )
                found.append(Problem("warning", message, (i,)))
            else:
                message = (
                    f"{where}: {step.left:,} object(s) of its fallback {step.fallback!r} are not on "
                    f"{step.primary!r} yet ({counts['missing']:,} missing, {counts['differs']:,} "
                    f"different); botwo migrate {url} copies them"
                )
                found.append(Problem("note", message, (i,)))
    return found


# -- the report (pure) ------------------------------------------------------------------


@attrs.frozen
class Report:
    origin: str
    clients: Mapping[str, Mapping[str, str]]
    probes: Mapping[str, Probe]
    rules: tuple[Rule, ...]
    problems: tuple[Problem, ...]
    strict: bool = False

    def count(self, severity: str) -> int:
        return sum(p.severity == severity for p in self.problems)

    @property
    def failed_probes(self) -> list[str]:
        return [name for name, probe in self.probes.items() if probe.ok is False]

    @property
    def exit_code(self) -> int:
        if self.failed_probes or self.count("error"):
            return 1
        return 1 if self.strict and self.count("warning") else 0

    def rule_status(self, index: int) -> str:
        """The rule's worst finding; ``unchecked`` when its client could not be probed."""
        for severity in SEVERITIES:
            if any(p.severity == severity and index in p.rules for p in self.problems):
                return severity
        probe = self.probes.get(self.rules[index].client)
        return "unchecked" if probe is not None and probe.ok is False else "ok"

    def summary(self) -> str:
        """``OK: 2 clients, 3 rules; 0 errors, 1 warning, 0 notes`` (or ``FAILED: ...``)."""
        failed = self.failed_probes
        head = "OK" if not self.exit_code else "FAILED"
        if self.exit_code and not failed and not self.count("error"):
            head += " (--strict)"
        clients = _plural(len(self.probes), "client")
        if failed:
            clients += f" ({len(failed)} failed: {', '.join(failed)})"
        counts = ", ".join(_plural(self.count(s), s) for s in SEVERITIES)
        return f"{head}: {clients}, {_plural(len(self.rules), 'rule')}; {counts}"

    def lines(self) -> list[str]:
        client_rows = [
            (
                name,
                _endpoint_cell(summary),
                summary.get("credentials", ""),
                self.probes[name].status,
                self.probes[name].detail,
            )
            for name, summary in self.clients.items()
        ]
        rule_rows = [(*rule_row(i, r), self.rule_status(i)) for i, r in enumerate(self.rules)]
        out = [f"botwo check: {self.origin}", "", "clients:"]
        out += text_table(("client", "endpoint", "credentials", "status", "detail"), client_rows)
        out += ["", "rules (first match wins):"]
        out += text_table((*RULE_COLUMNS, "check"), rule_rows)
        if self.problems:
            out += ["", "problems:"]
            out += [f"  {p.severity:<8} {p.message}" for p in self.problems]
        return [*out, "", self.summary()]

    def _client_json(self, name: str, summary: Mapping[str, str]) -> dict[str, Any]:
        probe = self.probes[name]
        count = None if probe.buckets is None else len(probe.buckets)
        return {"name": name, **summary, "status": probe.status, "detail": probe.detail, "buckets": count}

    def as_json(self) -> dict[str, Any]:
        return {
            "config": self.origin,
            "ok": self.exit_code == 0,
            "exit_code": self.exit_code,
            "clients": [self._client_json(name, summary) for name, summary in self.clients.items()],
            "rules": [
                {"index": i, "rule": r.to_dict(), "status": self.rule_status(i)}
                for i, r in enumerate(self.rules)
            ],
            "problems": [
                {"severity": p.severity, "message": p.message, "rules": list(p.rules)} for p in self.problems
            ],
        }


def _endpoint_cell(summary: Mapping[str, str]) -> str:
    """A client's endpoint and where it came from, as its credentials' column says it."""
    endpoint, source = summary.get("endpoint_url", ""), summary.get("endpoint_from")
    return f"{endpoint} (from {source})" if source else endpoint


def endpoint_source(settings: Settings, name: str) -> str | None:
    """Where a client's ``endpoint_url`` came from: the file and field, the ``${VAR}``
    it was written with, or the ``BOTWO_CLIENT_<NAME>_ENDPOINT_URL`` that overrode it
    (``None`` when it is not configured: boto3 chooses it)."""
    source = settings.clients[name].sources.get("endpoint_url")
    if source is None:
        return None
    return f"{settings.origin}: clients.{name}.endpoint_url" if source == "file" else source


def _summaries(settings: Settings) -> dict[str, dict[str, str]]:
    """Each client as the report shows it: its secret-free summary, and where its
    endpoint came from."""
    out = {}
    for name, spec in settings.clients.items():
        summary = spec.describe()
        source = endpoint_source(settings, name)
        if source is not None:
            summary["endpoint_from"] = source
        out[name] = summary
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _secrets(settings: Settings) -> list[str]:
    """The values :func:`redact` masks: secret fields and the passwords of the endpoint
    and proxy URLs."""
    found = []
    for spec in settings.clients.values():
        found += [str(v) for field, v in spec.options.items() if field in SECRET_FIELDS and v]
        found += url_passwords(spec.options.get("endpoint_url"))
        proxies = spec.config_options.get("proxies")
        for url in proxies.values() if isinstance(proxies, Mapping) else ():
            found += url_passwords(url)
    return found


# -- the command --------------------------------------------------------------------------


def _emit(text: str, secrets: Sequence[str], stream: Any = None) -> None:
    print(redact(text, secrets), file=stream or sys.stdout)


def cmd_check(args: argparse.Namespace) -> int:
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            settings = load(args.config)
            s3 = from_settings(settings)
    except ConfigError as err:
        if args.json:
            print(json.dumps({"ok": False, "exit_code": 2, "error": str(err)}, indent=2))
        print(f"botwo check: {err}", file=sys.stderr)
        return 2
    secrets = _secrets(settings)
    rules = settings.rules
    if args.no_probe:
        probes = {name: Probe(name, None, "") for name in settings.clients}
    else:
        probes = probe_all(settings, probe_targets(rules, s3.route), args.timeout)
    problems = lint(rules, probes, s3.route, caught)
    if args.migration:
        problems = sorted(
            [*problems, *migration_problems(s3, probes)], key=lambda p: SEVERITIES.index(p.severity)
        )
    report = Report(
        origin=settings.origin,
        clients=_summaries(settings),
        probes=probes,
        rules=tuple(rules),
        problems=tuple(problems),
        strict=args.strict,
    )
    s3.close()
    if args.json:
        _emit(json.dumps(report.as_json(), indent=2), secrets)
    else:
        _emit("\n".join(report.lines()), secrets)
    return report.exit_code


def add_check_parser(commands: Any, parent: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``botwo check``'s options; the caller sets its handler (:func:`cmd_check`)."""
    check: argparse.ArgumentParser = commands.add_parser(
        "check",
        parents=[parent],
        help="validate the configuration, lint the rules, probe every backend",
        description="Load and validate the configuration (exit 2 on an error), lint the rules "
        "(rules that never match, shared target namespaces, missing target buckets, buckets no "
        "rule reaches) and probe every client (reachable, credentials accepted). Exit 1 when a "
        "probe fails or a rule problem is an error; warnings alone exit 0 unless --strict.",
    )
    check.add_argument("--no-probe", action="store_true", help="do not contact the backends")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    check.add_argument(
        "--migration",
        action="store_true",
        help="for each rule with fallback, compare its fallbacks with its client (lists both "
        "sides whole) and say whether each fallback can be removed",
    )
    check.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="connect and read timeout of each probe (default 5)",
    )
    return check
