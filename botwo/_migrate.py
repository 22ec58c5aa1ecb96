"""Migrating a rule's fallbacks into its client: ``botwo.migrate(client, url, ...)``.

Theory of operation
-------------------
A rule with ``fallback`` clients is a read-through layer: reads try the rule's client
(the *primary*), then each fallback in order, and every client of that chain is asked
for the same target names (the rule's ``mapped_bucket_name``, ``key_prefix`` and
``strip_prefix`` apply to all of them, see :mod:`botwo._fallback`). A migration is done
when the primary holds every object that a read could still find on a fallback.

1. **Plan** (:func:`plan`, pure). The caller's ``s3://bucket/prefix`` is laid out by the
   rule table's listing plan (:meth:`botwo._table.RuleTable.listing_plan`): the routes
   that serve the keys under it, each with the caller prefix it serves and the *holes*
   that earlier rules take. A :class:`Part` is one such route with the target prefix of
   its part: ``CLIENT://target_bucket/target_prefix`` names the same keys on the primary
   and on each fallback, and a key relative to that prefix is the same relative caller
   key on every client of the chain.
2. **Refuse** before anything is sent: a route with fallbacks that is ``readonly``
   cannot be written into, so it cannot be migrated (:class:`~botwo.errors.ReadOnlyError`
   naming the rule). A route without fallback has nothing to migrate: it is *skipped*.
3. **Copy** one sync per (route, fallback) pair, over direct addresses, from the
   fallback to the primary (:func:`botwo._syncer.sync_ends`): only the route's keys
   (the holes are left out, so a route that owns part of a split bucket never touches
   another route's keys), filtered by ``--include`` / ``--exclude`` on the key relative
   to the URL. The fallbacks are taken in the rule's order, and the sync of a later one
   leaves out every key an earlier one holds (a *mask*): reads would serve the earlier
   copy, so that is the one to copy.
4. **Verify**: the same syncs again as dry runs; what they find is what is left.

Never ``delete``: the primary takes the application's writes during a migration, so
what only the primary holds is new, not stale.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from typing import IO

import attrs

from ._address import Namespaces
from ._awsfmt import S3Url, human_size
from ._client import RoutingClient
from ._rules import Rule
from ._sync import FilterItem, KeyFilter, SyncRecord, as_dir
from ._syncer import SyncEnds, SyncProgress, SyncReport, filter_of, sync_ends
from ._table import Route, RuleTable
from .errors import AddressError, ReadOnlyError

__all__ = ["MigrationPass", "MigrationReport", "MigrationStep", "Part", "migrate", "plan"]


@attrs.frozen(kw_only=True)
class Part:
    """One route's share of a migration's URL: the caller keys under ``prefix`` that it
    serves, less those starting with one of ``holes`` (served by earlier rules)."""

    route: Route
    prefix: str
    holes: tuple[str, ...] = ()

    @property
    def target_prefix(self) -> str:
        """The target names of ``prefix``: the same on the primary and every fallback."""
        return self.route.to_target_key(self.prefix)

    def on(self, client: str) -> S3Url:
        """The part on one client of the chain, addressed directly."""
        return S3Url(self.route.target_bucket, self.target_prefix, client)

    @property
    def destination(self) -> S3Url:
        return self.on(self.route.client)

    def sources(self) -> tuple[S3Url, ...]:
        """The part on each fallback, in the rule's order."""
        return tuple(self.on(name) for name in self.route.fallback)

    def caller_key(self, relative: str) -> str:
        """The caller's key of a key relative to :attr:`target_prefix`."""
        return self.prefix + relative

    def owns(self, relative: str) -> bool:
        """Whether the route serves the caller key of ``relative`` (not a hole)."""
        return not (self.holes and self.caller_key(relative).startswith(self.holes))

    def describe(self) -> str:
        """``rule 0 (s3://media/ -> client 'lake')``."""
        route = self.route
        return f"rule {route.rule_index} (s3://{route.bucket}/{self.prefix} -> client {route.client!r})"


def plan(rules: Sequence[Rule], url: S3Url) -> list[Part]:
    """The routes serving the caller keys under ``url`` (a directory), in listing-plan
    order (the route of the prefix itself first), each with its part. Pure."""
    table = RuleTable(tuple(rules))
    return [
        Part(route=route, prefix=prefix, holes=holes)
        for route, prefix, holes in table.listing_plan(url.bucket, url.key)
    ]


@attrs.frozen(kw_only=True)
class MigrationPass:
    """One sync of a migration, as ``on_pass`` is told before it runs: the rule, the
    fallback copied from, the two direct addresses, and ``verify`` for the dry run that
    checks what is left."""

    rule_index: int
    fallback: str
    source: str
    destination: str
    verify: bool


@attrs.frozen(kw_only=True)
class MigrationStep:
    """What the migration did for one (route, fallback) pair.

    ``copy`` is the copying sync (``None`` for a dry run); ``verify`` the dry run after
    it (for a dry run, the only pass): its ``missing`` and ``differs`` are what is left.
    """

    rule_index: int
    route: str
    fallback: str
    primary: str
    source: str
    destination: str
    copy: SyncReport | None
    verify: SyncReport

    @property
    def left(self) -> int:
        """Objects of the fallback that the primary still lacks or holds differently."""
        return self.verify.counts["missing"] + self.verify.counts["differs"]

    @property
    def ok(self) -> bool:
        """Nothing is left and nothing failed (the copy's failures count too)."""
        return self.verify.ok and (self.copy is None or self.copy.failed == 0)

    def summary(self) -> str:
        """``rule 0 (...), fallback 'aws': 2 copied (2.0 KiB), 5 same, 0 failed; verified:
        nothing left (7 on 'lake')``."""
        head = f"{self.route}, fallback {self.fallback!r}"
        verified = self.verify.counts
        if self.left or verified["failed"]:
            left = (
                f"{self.left:,} left ({verified['missing']:,} missing, {verified['differs']:,} different"
                + (f", {verified['failed']:,} failed" if verified["failed"] else "")
                + ")"
            )
        else:
            left = f"nothing left ({verified['same']:,} on {self.primary!r})"
        if self.copy is None:
            return f"{head}: {left}"
        done = self.copy.counts
        copied = (
            f"{done['copied']:,} copied ({human_size(self.copy.bytes_copied)}), {done['same']:,} same, "
            + (f"{done['extra']:,} only on {self.primary!r} (kept), " if done["extra"] else "")
            + f"{done['failed']:,} failed"
        )
        return f"{head}: {copied}; verified: {left}"


@attrs.frozen(kw_only=True)
class MigrationReport:
    """What ``botwo.migrate`` did: a :class:`MigrationStep` per (route, fallback) pair and
    the routes under the URL without fallback (``skipped``: rule index and description)."""

    url: str
    dry_run: bool
    steps: tuple[MigrationStep, ...]
    skipped: tuple[tuple[int, str], ...] = ()
    report_path: str | None = None

    @property
    def ok(self) -> bool:
        """Every fallback's objects are on the primary, and nothing failed."""
        return all(step.ok for step in self.steps)

    @property
    def left(self) -> int:
        return sum(step.left for step in self.steps)

    def __str__(self) -> str:
        lines = [f"migrate {self.url}:"] + [f"  {step.summary()}" for step in self.steps]
        lines += [f"  skipped: {text}" for _, text in self.skipped]
        return "\n".join(lines)


def _refuse_readonly(parts: Iterable[Part]) -> None:
    for part in parts:
        if part.route.fallback and part.route.readonly:
            raise ReadOnlyError.refuse(
                "Migrate",
                f"{part.route.describe()} is read-only (readonly = true): a migration writes into "
                f"its client {part.route.client!r}, so it cannot be migrated; nothing was sent",
                route=part.route,
            )


class _ReportFile:
    """The records of every pass, one JSON line each, with the pass they belong to."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self.current: MigrationPass | None = None

    def write(self, record: SyncRecord) -> None:
        current = self.current
        assert current is not None
        head = (
            f'{{"rule": {current.rule_index}, "fallback": {_json(current.fallback)}, '
            f'"pass": "{"verify" if current.verify else "copy"}", '
            f'"source": {_json(current.source)}, "destination": {_json(current.destination)}, '
        )
        self._stream.write(head + record.to_json()[1:] + "\n")
        self._stream.flush()


def _json(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _admits(part: Part, key_filter: KeyFilter, base: int) -> Callable[[str], bool]:
    """Whether a key relative to the part's target prefix takes part: the route serves
    it, and the filters admit its caller key relative to the URL (``base`` long)."""

    def admits(relative: str) -> bool:
        return part.owns(relative) and key_filter.admits(part.caller_key(relative)[base:])

    return admits


@attrs.frozen(kw_only=True)
class _Pair:
    """One (route, fallback) pair: its sync, as a copy or as a verifying dry run."""

    names: Namespaces
    part: Part
    fallback: str
    source: S3Url
    masks: tuple[S3Url, ...]
    admits: Callable[[str], bool]
    checksum: bool
    transfers: int
    file: _ReportFile | None
    on_pass: Callable[[MigrationPass], None] | None
    on_record: Callable[[SyncRecord], None]
    on_progress: Callable[[SyncProgress], None] | None

    def sync(self, *, verify: bool) -> SyncReport:
        this = MigrationPass(
            rule_index=self.part.route.rule_index,
            fallback=self.fallback,
            source=str(self.source),
            destination=str(self.part.destination),
            verify=verify,
        )
        if self.file is not None:
            self.file.current = this
        if self.on_pass is not None:
            self.on_pass(this)
        return sync_ends(
            SyncEnds(self.names, self.source, self.part.destination),
            admits=self.admits,
            masks=self.masks,
            dry_run=verify,
            checksum=self.checksum,
            transfers=self.transfers,
            on_record=self.on_record,
            on_progress=self.on_progress,
        )


def run_parts(
    client: RoutingClient,
    url: S3Url,
    parts: Sequence[Part],
    *,
    dry_run: bool = False,
    checksum: bool = False,
    key_filter: KeyFilter | None = None,
    transfers: int = 4,
    report: str | os.PathLike[str] | None = None,
    on_pass: Callable[[MigrationPass], None] | None = None,
    on_record: Callable[[SyncRecord], None] | None = None,
    on_progress: Callable[[SyncProgress], None] | None = None,
    refuse_readonly: bool = True,
) -> MigrationReport:
    """Migrate the planned ``parts`` of ``url`` (see the module's theory of operation).

    ``refuse_readonly=False`` lets a dry run compare a read-only route (what ``botwo
    check --migration`` does: it only reads)."""
    if refuse_readonly or not dry_run:
        _refuse_readonly(parts)
    names = Namespaces(client)
    admitted = key_filter or KeyFilter()
    todo = [part for part in parts if part.route.fallback]
    for part in todo:  # views made here, not by the copying threads
        for address in (part.destination, *part.sources()):
            names.client_for(address)
    stream = open(os.fspath(report), "w", encoding="utf-8") if report is not None else None  # noqa: SIM115
    file = _ReportFile(stream) if stream is not None else None

    def record(item: SyncRecord) -> None:
        if file is not None:
            file.write(item)
        if on_record is not None:
            on_record(item)

    steps: list[MigrationStep] = []
    try:
        for part in todo:
            sources = part.sources()
            for i, (fallback, source) in enumerate(zip(part.route.fallback, sources, strict=True)):
                run = _Pair(
                    names=names,
                    part=part,
                    fallback=fallback,
                    source=source,
                    masks=sources[:i],
                    admits=_admits(part, admitted, len(url.key)),
                    checksum=checksum,
                    transfers=transfers,
                    file=file,
                    on_pass=on_pass,
                    on_record=record,
                    on_progress=on_progress,
                )
                copied = None if dry_run else run.sync(verify=False)
                verified = run.sync(verify=True)
                steps.append(
                    MigrationStep(
                        rule_index=part.route.rule_index,
                        route=part.describe(),
                        fallback=fallback,
                        primary=part.route.client,
                        source=str(source),
                        destination=str(part.destination),
                        copy=copied,
                        verify=verified,
                    )
                )
    finally:
        if stream is not None:
            stream.close()
    skipped = tuple(
        (part.route.rule_index, f"{part.describe()} has no fallback: nothing to migrate")
        for part in parts
        if not part.route.fallback
    )
    return MigrationReport(
        url=str(url),
        dry_run=dry_run,
        steps=tuple(steps),
        skipped=skipped,
        report_path=os.fspath(report) if report is not None else None,
    )


def parse_url(client: RoutingClient, text: str) -> S3Url:
    """A migration's URL: ``s3://bucket[/prefix]`` in the caller's namespace, as a directory."""
    url = Namespaces(client).parse(text)
    if url.client is not None:
        raise AddressError(
            f"{text}: a migration takes an s3:// URL (the caller's namespace, whose rules say which "
            "clients hold its keys), not a client's address",
            client=url.client,
        )
    return url.with_key(as_dir(url.key))


def migrate(
    client: RoutingClient,
    url: str,
    *,
    dry_run: bool = False,
    checksum: bool = False,
    exclude: Iterable[str] = (),
    include: Iterable[str] = (),
    filters: Sequence[FilterItem] | None = None,
    transfers: int = 4,
    report: str | os.PathLike[str] | None = None,
    on_pass: Callable[[MigrationPass], None] | None = None,
    on_record: Callable[[SyncRecord], None] | None = None,
    on_progress: Callable[[SyncProgress], None] | None = None,
) -> MigrationReport:
    """Copy onto each rule's own client what its ``fallback`` clients hold under ``url``
    and it lacks or holds differently, then verify; never delete.

    ``url`` is ``s3://bucket[/prefix]`` (a directory, in the caller's names). For every
    route serving keys under it that has fallbacks: one sync per fallback, in the rule's
    order, from the fallback's target names to the rule's client's (the route's renaming
    applies to both), restricted to the route's keys; a key that an earlier fallback
    holds is taken from that one only. Then the same syncs as dry runs say what is left.
    Routes without fallback are skipped (``report.skipped``).

    ``dry_run`` copies nothing: only the verifying pass runs (``report.ok`` says whether
    the fallbacks can go). ``checksum``, ``exclude`` / ``include`` / ``filters`` (on the
    key relative to ``url``), ``transfers``, ``on_record`` and ``on_progress`` are
    :func:`botwo.sync`'s; ``report`` is a file of JSON lines, each a sync record with the
    ``rule``, ``fallback``, ``pass`` (``copy`` or ``verify``), ``source`` and
    ``destination`` it belongs to; ``on_pass`` is called before each sync.

    Raises, before anything is sent: ``ValueError`` for a malformed URL,
    :class:`~botwo.errors.AddressError` for a client's address, and
    :class:`~botwo.errors.ReadOnlyError` for a route with fallbacks that is read-only;
    :class:`~botwo.errors.SyncError` when a side cannot be listed.
    """
    if not isinstance(client, RoutingClient):
        raise TypeError(f"migrate needs a botwo client (botwo.client(...)), got {type(client).__name__}")
    if not isinstance(transfers, int) or isinstance(transfers, bool) or transfers < 1:
        raise ValueError(f"transfers must be an int >= 1, got {transfers!r}")
    where = parse_url(client, url)
    return run_parts(
        client,
        where,
        plan(client.rules, where),
        dry_run=dry_run,
        checksum=checksum,
        key_filter=filter_of(filters, exclude, include),
        transfers=transfers,
        report=report,
        on_pass=on_pass,
        on_record=on_record,
        on_progress=on_progress,
    )


def fallback_parts(rules: Sequence[Rule], bucket: str, index: int) -> list[Part]:
    """The part of rule ``index`` in caller bucket ``bucket``: the rule's own prefix, less
    the keys that earlier rules take (what ``botwo check --migration`` compares)."""
    url = S3Url(bucket, rules[index].prefix)
    return [part for part in plan(rules, url) if part.route.rule_index == index]
