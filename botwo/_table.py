"""The compiled rule table: which rule serves a (bucket, key), a bucket, or a listing.

Theory of operation
-------------------
The mapping is an ordered list; the first rule whose bucket glob matches the caller's
bucket and whose ``prefix`` starts the caller's key wins. Scanning the list per call
would cost O(rules), so the table is compiled once:

* literal bucket names go in a dict (name -> rule indexes), globs in a list of compiled
  regexes;
* for each caller bucket seen, a :class:`_BucketMatcher` is built once (and cached) from
  the rules that can match that bucket. It maps each distinct ``prefix`` to the first
  rule that has it, and keeps the distinct prefix lengths. The winning rule for a key is
  the lowest-index rule among ``key[:n]`` for those lengths ``n``: a few dict look-ups,
  whatever the number of rules.
* a listing with ``Prefix=P`` is served by the first rule whose prefix starts ``P``,
  except where a rule whose prefix strictly extends ``P`` comes earlier (that rule
  serves its part). The extensions of ``P`` are a contiguous run of the sorted
  prefixes, so finding whether there are any is a range-minimum query over that run;
  :meth:`RuleTable.listing_plan` then lays out which route serves which part.

Every bucket has at least one rule with an empty prefix (the mapping's catch-all), so a
key lookup always finds a route.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from ._rules import Rule, compile_glob, is_glob
from ._s3 import TOP_CHAR

__all__ = ["Route", "RouteDecision", "RuleTable", "successor"]

def successor(prefix: str) -> str | None:
    """The least string greater than every string that starts with ``prefix``.

    ``None`` when there is none (``prefix`` is empty or all U+10FFFF).
    """
    trimmed = prefix.rstrip(TOP_CHAR)
    if not trimmed:
        return None
    return trimmed[:-1] + chr(ord(trimmed[-1]) + 1)


@attrs.frozen
class Route:
    """Where a caller's bucket goes through one rule, and how its keys are renamed.

    A caller key ``k`` (which starts with ``owns``) is ``key_prefix + k[len(strip):]`` on
    the target; ``strip`` is the rule's ``prefix`` when ``strip_prefix`` is set, else "".
    """

    rule_index: int
    rule: Rule = attrs.field(repr=False)
    client: str
    bucket: str
    target_bucket: str
    key_prefix: str
    strip: str
    owns: str
    #: Clients that reads fall back to, in order (the rule's ``fallback``).
    fallback: tuple[str, ...] = ()
    #: Reads also fall back when a client is unreachable.
    fallback_on_unreachable: bool = False
    #: Mutating calls are refused.
    readonly: bool = False
    #: True when caller keys and target keys are the same strings.
    keys_identical: bool = attrs.field(init=False, repr=False, eq=False)
    #: True when both the bucket and the keys keep their names on the target.
    identical: bool = attrs.field(init=False, repr=False, eq=False)
    #: ``((target_bucket, bucket),)``: the bucket renaming, for error translation.
    bucket_pairs: tuple[tuple[str, str], ...] = attrs.field(init=False, repr=False, eq=False)
    #: True when the route is read-only or has fallbacks: the call path checks more.
    special: bool = attrs.field(init=False, repr=False, eq=False)
    #: The client, then its fallbacks: where reads look, in order.
    clients: tuple[str, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        # Precomputed: these are read on every call.
        keys_identical = not self.key_prefix and not self.strip
        object.__setattr__(self, "keys_identical", keys_identical)
        object.__setattr__(self, "identical", keys_identical and self.bucket == self.target_bucket)
        object.__setattr__(self, "bucket_pairs", ((self.target_bucket, self.bucket),))
        object.__setattr__(self, "special", self.readonly or bool(self.fallback))
        object.__setattr__(self, "clients", (self.client, *self.fallback))

    def to_target_key(self, key: str) -> str:
        """The target's name for a caller key of this route."""
        return self.key_prefix + key[len(self.strip) :]

    def to_caller_key(self, target_key: str) -> str | None:
        """The caller's name for a target key, or ``None`` if it is outside this route."""
        if not target_key.startswith(self.key_prefix):
            return None
        key = self.strip + target_key[len(self.key_prefix) :]
        return key if key.startswith(self.owns) else None

    def rename_entries(
        self,
        entries: Sequence[dict[str, Any]],
        member: str,
        to_caller: Callable[[str], str | None] | None = None,
    ) -> list[dict[str, Any]]:
        """The entries of a listing page whose ``member`` (a target key) lies in this
        route, with ``member`` renamed to the caller's key; entries outside the route are
        left out (they are never shown to the caller). Renamed entries are copies; entries
        whose names do not change are the same objects.

        ``to_caller`` renames instead of :meth:`to_caller_key` (for URL-encoded names).
        This is the one place caller keys are made from a listing: it runs for every
        entry of every page, so the plain renaming is inlined.
        """
        renamed: list[dict[str, Any]] = []
        append = renamed.append
        if to_caller is not None:
            for entry in entries:
                name = to_caller(entry[member])
                if name is not None:
                    entry = entry.copy()
                    entry[member] = name
                    append(entry)
        elif self.keys_identical:
            owns = self.owns
            renamed = [entry for entry in entries if entry[member].startswith(owns)]
        else:
            key_prefix, strip, owns = self.key_prefix, self.strip, self.owns
            cut = len(key_prefix)
            for entry in entries:
                target = entry[member]
                if target.startswith(key_prefix):
                    name = strip + target[cut:]
                    if name.startswith(owns):
                        entry = entry.copy()  # cheaper than {**entry, member: name}
                        entry[member] = name
                        append(entry)
        return renamed

    def describe(self) -> str:
        return (
            f"rule {self.rule_index} (bucket_name={self.rule.bucket_name!r}"
            + (f", prefix={self.rule.prefix!r}" if self.rule.prefix else "")
            + f") -> client {self.client!r}"
        )


@attrs.frozen
class RouteDecision:
    """Where a call on a caller's bucket (and key) goes: what ``s3.route(bucket, key)`` says.

    ``key`` and ``target_key`` are ``None`` for a call that names only the bucket (such as
    ``head_bucket``), which goes to the first matching rule without a ``prefix``.
    """

    bucket: str
    key: str | None
    rule_index: int
    rule: Rule
    client: str
    target_bucket: str
    target_key: str | None
    #: Clients that reads fall back to, in order.
    fallback: tuple[str, ...] = ()
    #: Mutating calls are refused.
    readonly: bool = False

    @classmethod
    def of(cls, route: Route, key: str | None) -> RouteDecision:
        return cls(
            bucket=route.bucket,
            key=key,
            rule_index=route.rule_index,
            rule=route.rule,
            client=route.client,
            target_bucket=route.target_bucket,
            target_key=None if key is None else route.to_target_key(key),
            fallback=route.fallback,
            readonly=route.readonly,
        )

    @property
    def url(self) -> str:
        """The caller's ``s3://bucket/key``."""
        return f"s3://{self.bucket}" + ("" if self.key is None else f"/{self.key}")

    @property
    def target_url(self) -> str:
        """``s3://target_bucket/target_key`` on the serving client."""
        return f"s3://{self.target_bucket}" + ("" if self.target_key is None else f"/{self.target_key}")

    def __str__(self) -> str:
        extra = "".join(
            [
                f", falls back to {', '.join(self.fallback)}" if self.fallback else "",
                ", read-only" if self.readonly else "",
            ]
        )
        return f"{self.url} -> client {self.client!r} {self.target_url} (rule {self.rule_index}{extra})"


class _RangeMin:
    """Sparse table for O(1) minimum over a slice of a static list of ints."""

    __slots__ = ("_levels",)

    def __init__(self, values: Sequence[int]) -> None:
        levels = [list(values)]
        width = 1
        while 2 * width <= len(values):
            prev = levels[-1]
            levels.append([min(prev[i], prev[i + width]) for i in range(len(prev) - width)])
            width *= 2
        self._levels = levels

    def min(self, lo: int, hi: int) -> int | None:
        if hi <= lo:
            return None
        level = (hi - lo).bit_length() - 1
        row = self._levels[level]
        return min(row[lo], row[hi - (1 << level)])


_FEW_PREFIXES = 16


class _BucketMatcher:
    """The rules that can match one caller bucket, indexed by prefix."""

    __slots__ = ("_by_prefix", "_first", "_lengths", "_listing", "_single", "_starts", "bucket_route")

    def __init__(self, routes: list[Route]) -> None:
        by_prefix: dict[str, Route] = {}
        for route in routes:  # in rule order: the first rule with a prefix wins it
            by_prefix.setdefault(route.owns, route)
        self._by_prefix = by_prefix
        self.bucket_route: Route = by_prefix[""]
        # For each owned prefix, the first rule among those owning it or any shorter
        # prefix of it: a key's route is _first of the longest owned prefix it starts
        # with (every shorter owned prefix of the key is a prefix of that one).
        lengths = sorted({len(p) for p in by_prefix})
        first: dict[str, Route] = {}
        for prefix in sorted(by_prefix, key=len):
            best = by_prefix[prefix]
            for n in lengths:
                if n >= len(prefix):
                    break
                shorter = first.get(prefix[:n])
                if shorter is not None and shorter.rule_index < best.rule_index:
                    best = shorter
            first[prefix] = best
        self._first = first
        # Longest first, without the empty prefix (the fallback when nothing longer matches).
        self._lengths = tuple(n for n in reversed(lengths) if n)
        self._single: Route | None = self.bucket_route if len(by_prefix) == 1 else None
        # With few prefixes, one ``str.startswith`` call (in C) tells a key that none
        # applies, the common case, before any slicing; with many it would scan them all.
        owned = tuple(p for p in by_prefix if p)
        self._starts: tuple[str, ...] | None = owned if len(owned) <= _FEW_PREFIXES else None
        self._listing: tuple[list[str], _RangeMin] | None = None

    def route(self, key: str) -> Route:
        starts = self._starts
        if starts is not None and not key.startswith(starts):
            return self.bucket_route
        first = self._first
        size = len(key)
        for n in self._lengths:
            if n <= size:
                found = first.get(key[:n])
                if found is not None:
                    return found
        return self.bucket_route

    def extensions_before(self, prefix: str, limit: int) -> list[Route]:
        """Routes whose prefix strictly extends ``prefix`` and whose rule precedes ``limit``."""
        if self._single is not None:
            return []
        if self._listing is None:
            ordered = sorted(self._by_prefix)
            self._listing = (ordered, _RangeMin([self._by_prefix[p].rule_index for p in ordered]))
        ordered, rmq = self._listing
        lo = bisect.bisect_right(ordered, prefix)
        upper = successor(prefix)
        hi = len(ordered) if upper is None else bisect.bisect_left(ordered, upper)
        first = rmq.min(lo, hi)
        if first is None or first >= limit:
            return []
        found = (self._by_prefix[p] for p in ordered[lo:hi])
        return sorted((r for r in found if r.rule_index < limit), key=lambda r: r.rule_index)


@attrs.frozen(eq=False)
class RuleTable:
    """An ordered, validated rule list compiled for first-match lookups."""

    rules: tuple[Rule, ...]
    _literal: dict[str, tuple[int, ...]] = attrs.field(init=False, repr=False)
    _globs: tuple[tuple[int, re.Pattern[str]], ...] = attrs.field(init=False, repr=False)
    _renamed: dict[str, tuple[str, ...]] = attrs.field(init=False, repr=False)
    matcher: functools._lru_cache_wrapper[_BucketMatcher] = attrs.field(init=False, repr=False)
    fingerprint: bytes = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        literal: dict[str, list[int]] = {}
        globs: list[tuple[int, re.Pattern[str]]] = []
        for i, rule in enumerate(self.rules):
            if is_glob(rule.bucket_name):
                globs.append((i, compile_glob(rule.bucket_name)))
            else:
                literal.setdefault(rule.bucket_name, []).append(i)
        renamed: dict[str, list[str]] = {}
        for rule in self.rules:
            if rule.mapped_bucket_name is not None and rule.bucket_name not in renamed.get(
                rule.mapped_bucket_name, ()
            ):
                renamed.setdefault(rule.mapped_bucket_name, []).append(rule.bucket_name)
        set_ = object.__setattr__
        set_(self, "_renamed", {target: tuple(names) for target, names in renamed.items()})
        set_(self, "_literal", {name: tuple(ix) for name, ix in literal.items()})
        set_(self, "_globs", tuple(globs))
        # The per-bucket matchers, built on first use; thread-safe (lru_cache).
        set_(self, "matcher", functools.lru_cache(maxsize=8192)(self._build_matcher))
        blob = json.dumps([r.to_dict() for r in self.rules], sort_keys=True).encode()
        set_(self, "fingerprint", hashlib.sha256(blob).digest())

    def _build_matcher(self, bucket: str) -> _BucketMatcher:
        indexes = list(self._literal.get(bucket, ()))
        indexes.extend(i for i, regex in self._globs if regex.match(bucket))
        indexes.sort()
        return _BucketMatcher([self._make_route(i, bucket) for i in indexes])

    def _make_route(self, index: int, bucket: str) -> Route:
        rule = self.rules[index]
        return Route(
            rule_index=index,
            rule=rule,
            client=rule.client,
            bucket=bucket,
            target_bucket=rule.mapped_bucket_name or bucket,
            key_prefix=rule.key_prefix,
            strip=rule.prefix if rule.strip_prefix else "",
            owns=rule.prefix,
            fallback=rule.fallback,
            fallback_on_unreachable=rule.fallback_on_unreachable,
            readonly=rule.readonly,
        )

    def route(self, bucket: str, key: str) -> Route:
        """The route of a call on one object."""
        return self.matcher(bucket).route(key)

    def decide(self, bucket: str, key: str | None = None) -> RouteDecision:
        """The routing decision for a call on ``bucket`` (and ``key``), as a value."""
        route = self.route_bucket(bucket) if key is None else self.route(bucket, key)
        return RouteDecision.of(route, key)

    def route_bucket(self, bucket: str) -> Route:
        """The route of a call that names a bucket and no key: the first rule without a prefix."""
        return self.matcher(bucket).bucket_route

    def renamed_to(self, target: str) -> tuple[str, ...]:
        """The caller buckets that some rule renames to ``target`` (``mapped_bucket_name``)."""
        return self._renamed.get(target, ())

    def listing_plan(self, bucket: str, prefix: str) -> list[tuple[Route, str, tuple[str, ...]]]:
        """The routes that serve the caller keys starting with ``prefix``, and their parts.

        Each item is ``(route, list_prefix, holes)``: the route serves the caller keys that
        start with ``list_prefix`` (the longer of ``prefix`` and the route's own prefix)
        except those starting with one of ``holes`` (sorted, none inside another), which
        routes of earlier rules serve. The first item is the route that owns ``prefix``
        itself; a listing that one route serves whole is the single item
        ``(route, prefix, ())``.
        """
        matcher = self.matcher(bucket)
        owner = matcher.route(prefix)
        inside = [
            r for r in matcher.extensions_before(prefix, owner.rule_index) if matcher.route(r.owns) is r
        ]
        if not inside:  # the usual case: one route serves the whole listing
            return [(owner, prefix, ())]
        holes: dict[int, list[str]] = {owner.rule_index: []}
        stack: list[Route] = []
        for route in sorted(inside, key=lambda r: r.owns):
            while stack and not route.owns.startswith(stack[-1].owns):
                stack.pop()
            parent = stack[-1] if stack else owner
            holes[parent.rule_index].append(route.owns)
            holes[route.rule_index] = []
            stack.append(route)
        plan = [(owner, prefix, tuple(holes[owner.rule_index]))]
        plan.extend((r, r.owns, tuple(holes[r.rule_index])) for r in sorted(inside, key=lambda r: r.owns))
        return plan

    def shadowed(self) -> list[tuple[int, int]]:
        """Pairs ``(j, i)``: rule ``j`` can never match because earlier rule ``i`` always does.

        Rule ``i`` shadows ``j`` when ``i``'s prefix starts ``j``'s prefix and ``i``'s
        bucket glob matches every bucket that ``j``'s does: ``i`` is all ``*``, or has the
        same pattern, or ``j`` is a literal name that ``i``'s glob matches. (Containment
        between two different globs is not decided.)
        """
        found: list[tuple[int, int]] = []
        by_pattern: dict[str, dict[str, int]] = {}
        everything: dict[str, int] = {}
        globs: list[tuple[int, re.Pattern[str], str]] = []
        for j, rule in enumerate(self.rules):
            heads = [rule.prefix[:n] for n in range(len(rule.prefix) + 1)]
            same = by_pattern.get(rule.bucket_name, {})
            hit = next((everything[h] for h in heads if h in everything), None)
            if hit is None:
                hit = next((same[h] for h in heads if h in same), None)
            if hit is None and not is_glob(rule.bucket_name):
                hit = next(
                    (i for i, rx, p in globs if rule.prefix.startswith(p) and rx.match(rule.bucket_name)),
                    None,
                )
            if hit is not None:
                found.append((j, hit))
            if set(rule.bucket_name) == {"*"}:
                everything.setdefault(rule.prefix, j)
            by_pattern.setdefault(rule.bucket_name, {}).setdefault(rule.prefix, j)
            if is_glob(rule.bucket_name):
                globs.append((j, compile_glob(rule.bucket_name), rule.prefix))
        return found

    def overlaps(self) -> list[tuple[int, int, str, str, str]]:
        """Pairs of rules that put different caller keys into one target namespace.

        Each item is ``(i, j, client, target_bucket, target_prefix)``. Two rules overlap
        when they reach the same bucket of the same client and one's target key space
        (``key_prefix``, plus ``prefix`` unless stripped) starts the other's, unless
        they rename keys the same way for the same caller bucket (then the same caller
        key is the same target key through either). Through such a pair, a listing of one
        caller namespace would show the other's objects.

        A glob rule that renames nothing is considered for every literal target bucket of
        its client that it matches and serves.
        """
        spaces: dict[tuple[str, str], list[tuple[str, int, str]]] = {}
        literal_targets: dict[str, set[str]] = {}
        for i, rule in enumerate(self.rules):
            if not is_glob(rule.bucket_name):
                target = rule.mapped_bucket_name or rule.bucket_name
                literal_targets.setdefault(rule.client, set()).add(target)
                space = rule.key_prefix + ("" if rule.strip_prefix else rule.prefix)
                spaces.setdefault((rule.client, target), []).append((space, i, rule.bucket_name))
        for i, regex in self._globs:
            rule = self.rules[i]
            for target in sorted(literal_targets.get(rule.client, ())):
                if regex.match(target) and self.route(target, rule.prefix).rule_index == i:
                    space = rule.key_prefix + rule.prefix
                    spaces.setdefault((rule.client, target), []).append((space, i, target))
        found = []
        for (client, target), entries in spaces.items():
            stack: list[tuple[str, int, str]] = []
            for entry in sorted(entries):
                while stack and not entry[0].startswith(stack[-1][0]):
                    stack.pop()
                for outer in stack:
                    if not self._same_renaming(outer, entry):
                        pair = sorted((outer[1], entry[1]))
                        found.append((pair[0], pair[1], client, target, entry[0][: len(outer[0])]))
                        break
                stack.append(entry)
        return sorted(set(found))

    def _same_renaming(self, a: tuple[str, int, str], b: tuple[str, int, str]) -> bool:
        ra, rb = self.rules[a[1]], self.rules[b[1]]
        return a[2] == b[2] and ra.key_prefix == rb.key_prefix and not ra.strip_prefix and not rb.strip_prefix
