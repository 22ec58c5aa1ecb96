"""The rule table and the clients as text and HTML: a routing client's ``repr`` and
``_repr_html_`` (Jupyter), and ``botwo check``'s tables.

Pure functions over rules and secret-free client summaries; nothing here can see a
credential, so nothing here can show one.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from ._rules import Rule, is_glob

__all__ = ["RULE_COLUMNS", "render_html", "render_text", "rule_row", "text_table"]

RULE_COLUMNS = ("#", "bucket_name", "prefix", "client", "target", "options")


def rule_row(index: int, rule: Rule) -> tuple[str, ...]:
    """One rule as table cells: where its calls go, and its options."""
    bucket = rule.mapped_bucket_name or ("(same bucket)" if is_glob(rule.bucket_name) else rule.bucket_name)
    keys = rule.key_prefix + ("(prefix stripped)" if rule.strip_prefix else rule.prefix)
    target = f"{bucket}/{keys}" if keys else bucket
    options = []
    if rule.fallback:
        options.append("fallback: " + ", ".join(rule.fallback))
        if rule.fallback_on_unreachable:
            options.append("also when unreachable")
    if rule.readonly:
        options.append("read-only")
    return (str(index), rule.bucket_name, rule.prefix, rule.client, target, "; ".join(options))


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    """Left-aligned columns, trailing spaces trimmed."""
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    return [
        (indent + "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True))).rstrip()
        for row in (header, *rows)
    ]


def _client_rows(clients: Mapping[str, Mapping[str, str]]) -> list[tuple[str, ...]]:
    return [
        (
            name,
            summary.get("endpoint_url", ""),
            summary.get("region_name", ""),
            summary.get("credentials", ""),
        )
        for name, summary in clients.items()
    ]


_CLIENT_COLUMNS = ("client", "endpoint_url", "region_name", "credentials")


def _client_columns(
    clients: Mapping[str, Mapping[str, str]],
) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    rows = _client_rows(clients)
    if all(not row[3] for row in rows):  # clients given as objects: credentials unknown
        return _CLIENT_COLUMNS[:3], [row[:3] for row in rows]
    return _CLIENT_COLUMNS, rows


def render_text(title: str, rules: Sequence[Rule], clients: Mapping[str, Mapping[str, str]]) -> str:
    """The routing client's ``repr``: a title line, the rules in matching order, the clients."""
    rows = [rule_row(i, r) for i, r in enumerate(rules)]
    header, client_rows = _client_columns(clients)
    lines = [f"<{title}", "rules (first match wins):"]
    lines += text_table(RULE_COLUMNS, rows)
    lines.append("clients:")
    lines += text_table(header, client_rows)
    lines[-1] += ">"
    return "\n".join(lines)


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f"<td><code>{html.escape(c)}</code></td>" if c else "<td></td>" for c in row)
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(title: str, rules: Sequence[Rule], clients: Mapping[str, Mapping[str, str]]) -> str:
    """The routing client as HTML for Jupyter: the same tables as :func:`render_text`."""
    rows = [rule_row(i, r) for i, r in enumerate(rules)]
    header, client_rows = _client_columns(clients)
    return (
        f'<div class="botwo-client"><p><strong>{html.escape(title)}</strong></p>'
        "<p>Rules (first match wins)</p>"
        f"{_html_table(RULE_COLUMNS, rows)}"
        "<p>Clients</p>"
        f"{_html_table(header, client_rows)}</div>"
    )
