"""Rules: what one line of the mapping says, validated.

A rule is a frozen value. It is built either directly (``botwo.Rule(...)``) or from a
plain dict by :func:`parse_mapping`, which checks every field and names the rule's
index and field in its error. Matching lives in :mod:`botwo._table`; this module only
knows what a single rule means.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import attrs

from .errors import RuleError

__all__ = ["FIELDS", "Rule", "compile_glob", "is_catch_all", "is_glob", "parse_mapping"]

_GLOB_CHARS = frozenset("*?[")


def is_glob(pattern: str) -> bool:
    """True when ``pattern`` has a glob metacharacter (``*``, ``?`` or ``[``)."""
    return not _GLOB_CHARS.isdisjoint(pattern)


def compile_glob(pattern: str) -> re.Pattern[str]:
    """Compile a bucket glob to a case-sensitive, whole-string regex.

    ``fnmatch.translate`` gives shell-glob semantics (``*``, ``?``, ``[...]``, ``[!...]``)
    without the platform-dependent case folding of ``fnmatch.fnmatch``; backslash is an
    ordinary character.
    """
    return re.compile(fnmatch.translate(pattern), re.DOTALL)


def is_catch_all(rule: Rule) -> bool:
    """A rule that matches every bucket and every key: ``*`` (or ``**``...) and no prefix."""
    return not rule.prefix and set(rule.bucket_name) == {"*"}


def _check_str(field: str, *, empty_ok: bool) -> Any:
    def check(_inst: Any, _attr: Any, value: Any) -> None:
        if not isinstance(value, str):
            raise RuleError(None, field, f"expected a string, got {type(value).__name__} {value!r}")
        if not empty_ok and not value:
            raise RuleError(None, field, "must not be empty")

    return check


def _check_optional_str(field: str) -> Any:
    inner = _check_str(field, empty_ok=False)

    def check(inst: Any, attr: Any, value: Any) -> None:
        if value is not None:
            inner(inst, attr, value)

    return check


def _to_names(value: Any) -> Any:
    # A list (as written in JSON, YAML or TOML) becomes a tuple; anything else is left
    # for the validator to name.
    return tuple(value) if isinstance(value, list) else value


def _check_names(field: str) -> Any:
    def check(_inst: Any, _attr: Any, value: Any) -> None:
        if not isinstance(value, tuple):
            raise RuleError(
                None, field, f"expected a list of client names, got {type(value).__name__} {value!r}"
            )
        for name in value:
            if not isinstance(name, str) or not name:
                raise RuleError(None, field, f"expected client names (non-empty strings), got {name!r}")
        if len(set(value)) != len(value):
            raise RuleError(None, field, f"names a client twice: {list(value)!r}")

    return check


def _check_bool(field: str) -> Any:
    def check(_inst: Any, _attr: Any, value: Any) -> None:
        if not isinstance(value, bool):
            raise RuleError(None, field, f"expected true or false, got {value!r}")

    return check


@attrs.frozen(kw_only=True)
class Rule:
    """One routing rule. The first rule in the mapping that matches a call serves it.

    * ``bucket_name``: glob on the caller's bucket (``*``, ``?``, ``[...]``), case-sensitive.
    * ``client``: the name of the underlying boto3 client that serves matching calls.
    * ``mapped_bucket_name``: the bucket's name on that client (default: the caller's).
    * ``key_prefix``: prepended to every key on the target (for lakeFS, the branch).
    * ``prefix``: the rule matches only caller keys that start with it.
    * ``strip_prefix``: drop ``prefix`` from the key before ``key_prefix`` is prepended.
    * ``fallback``: clients that reads fall back to, in order, when ``client`` has no such
      key or bucket (same target bucket and keys); writes go to ``client`` only.
    * ``fallback_on_unreachable``: reads also fall back when a client cannot be reached
      (connection refused, timeouts); by default that is an error.
    * ``readonly``: every mutating call through this rule fails before anything is sent.
    """

    bucket_name: str = attrs.field(validator=_check_str("bucket_name", empty_ok=False))
    client: str = attrs.field(validator=_check_str("client", empty_ok=False))
    mapped_bucket_name: str | None = attrs.field(
        default=None, validator=_check_optional_str("mapped_bucket_name")
    )
    key_prefix: str = attrs.field(default="", validator=_check_str("key_prefix", empty_ok=True))
    prefix: str = attrs.field(default="", validator=_check_str("prefix", empty_ok=True))
    strip_prefix: bool = attrs.field(default=False, validator=_check_bool("strip_prefix"))
    fallback: tuple[str, ...] = attrs.field(
        default=(), converter=_to_names, validator=_check_names("fallback")
    )
    fallback_on_unreachable: bool = attrs.field(
        default=False, validator=_check_bool("fallback_on_unreachable")
    )
    readonly: bool = attrs.field(default=False, validator=_check_bool("readonly"))

    def __attrs_post_init__(self) -> None:
        if self.client in self.fallback:
            raise RuleError(None, "fallback", f"lists the rule's own client {self.client!r}")
        if self.fallback_on_unreachable and not self.fallback:
            raise RuleError(None, "fallback_on_unreachable", "needs a 'fallback' list to fall back to")
        if self.strip_prefix and not self.prefix:
            raise RuleError(None, "strip_prefix", "needs a non-empty 'prefix' to strip")
        if self.mapped_bucket_name is not None and is_glob(self.bucket_name):
            # Several caller buckets would share one target namespace: a listing of one
            # would show the others' objects.
            raise RuleError(
                None,
                "mapped_bucket_name",
                f"cannot rename the glob {self.bucket_name!r}: every bucket it matches "
                "would land in the same target bucket",
            )
        if is_glob(self.mapped_bucket_name or ""):
            raise RuleError(None, "mapped_bucket_name", "must be a bucket name, not a glob")

    def to_dict(self) -> dict[str, Any]:
        """The rule as the plain dict that :func:`parse_mapping` accepts (defaults left out)."""
        out: dict[str, Any] = {"bucket_name": self.bucket_name, "client": self.client}
        for field in attrs.fields(Rule):
            value = getattr(self, field.name)
            if field.name not in out and value != field.default:
                out[field.name] = list(value) if isinstance(value, tuple) else value
        return out


FIELDS: tuple[str, ...] = tuple(f.name for f in attrs.fields(Rule))
_REQUIRED = ("bucket_name", "client")


def _with_index(err: RuleError, index: int) -> RuleError:
    return RuleError(index, err.field, err.problem)


def _rule_from(index: int, item: object) -> Rule:
    if isinstance(item, Rule):
        try:
            return attrs.evolve(item)  # re-validate: a Rule may have been built elsewhere
        except RuleError as err:
            raise _with_index(err, index) from None
    if not isinstance(item, Mapping):
        raise RuleError(index, None, f"expected a dict or botwo.Rule, got {type(item).__name__}")
    for name in item:
        if name not in FIELDS:
            close = difflib.get_close_matches(str(name), FIELDS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise RuleError(index, str(name), f"unknown field{hint}; fields are {', '.join(FIELDS)}")
    for name in _REQUIRED:
        if name not in item:
            raise RuleError(index, name, "is required")
    try:
        return Rule(**item)
    except RuleError as err:
        raise _with_index(err, index) from None


def parse_mapping(mapping: object, client_names: Collection[str]) -> tuple[Rule, ...]:
    """Validate the mapping and return it as a tuple of :class:`Rule`.

    Raises :class:`RuleError` naming the rule's index and field for an unknown field, a
    missing or mistyped field, an empty pattern, or an unknown client; and for a mapping
    without a catch-all rule (``{"bucket_name": "*", ...}``), which the design requires
    so that every call has a default.
    """
    if isinstance(mapping, str | bytes) or not isinstance(mapping, Sequence):
        raise RuleError(None, None, f"the mapping must be a list of rules, got {type(mapping).__name__}")
    rules = tuple(_rule_from(i, item) for i, item in enumerate(mapping))
    known = ", ".join(repr(n) for n in sorted(client_names))
    for i, rule in enumerate(rules):
        if rule.client not in client_names:
            raise RuleError(i, "client", f"unknown client {rule.client!r} (clients: {known})")
        for name in rule.fallback:
            if name not in client_names:
                raise RuleError(i, "fallback", f"unknown client {name!r} (clients: {known})")
    if not any(is_catch_all(r) for r in rules):
        raise RuleError(
            None,
            None,
            'no catch-all rule: end the mapping with {"bucket_name": "*", "client": ...} '
            "so that every bucket has a default client",
        )
    return rules
