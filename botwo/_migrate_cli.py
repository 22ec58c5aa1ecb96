"""``botwo migrate s3://bucket[/prefix]``: the command line of :func:`botwo.migrate`.

For each route under the URL that has ``fallback`` clients, copy onto the rule's client
what its fallbacks hold and it lacks or holds differently, then verify. Lines as ``botwo
sync`` prints them, with each pair's direct addresses: ``copy: aws://media/a to
lake://media/a`` on stdout (``(dryrun) copy: ...`` with ``--dry-run``), failures on
stderr; then, on stderr, a line per route skipped (no fallback) and per (route, fallback)
pair (what was copied and what the verification left), and the outcome.

``--check`` copies nothing and prints only the per-pair lines: exit 0 only when nothing
is left, so it is the test that the fallbacks can go. Exit status 0 when every
fallback's objects are on its rule's client at the end; 1 when something is left or
failed, or a side could not be listed; 2 for a usage error or a read-only route (nothing
sent).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, TextIO

from ._client import RoutingClient
from ._migrate import MigrationPass, MigrationReport, migrate
from ._sync import SyncRecord
from ._sync_cli import Display, add_sync_options
from .errors import ReadOnlyError, SyncError

__all__ = ["add_migrate_parser", "run_migrate"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_migrate_parser(commands: Any, parent: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``botwo migrate``'s options; the caller sets its handler."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "migrate",
        parents=[parent],
        help="copy what a rule's fallback clients hold onto the rule's client, and verify",
        description="For every route under s3://bucket/prefix whose rule has fallback clients: copy "
        "onto the rule's client what the fallbacks hold and it lacks or holds differently (the "
        "rule's renaming applied on both sides, the first fallback winning where several hold a "
        "key, only the route's own keys), then verify what is left. Nothing is ever deleted: the "
        "rule's client holds the new writes. --check only reports; exit 0 only when nothing is left.",
    )
    parser.add_argument("url", metavar="URL", help="s3://bucket[/prefix], in the caller's names")
    parser.add_argument(
        "--check",
        action="store_true",
        help="copy nothing; print what is left per rule and fallback (exit 0 only when nothing is)",
    )
    add_sync_options(parser)
    return parser


class _Lines:
    """What ``botwo migrate`` prints for a record, with the current pass's addresses."""

    def __init__(self, args: argparse.Namespace) -> None:
        self._args = args
        self.current: MigrationPass | None = None

    def start(self, this: MigrationPass) -> None:
        self.current = this

    def line(self, record: SyncRecord) -> tuple[TextIO, str] | None:
        this, args = self.current, self._args
        assert this is not None
        src, dst = this.source + record.key, this.destination + record.key
        if record.action == "failed":
            if this.verify and not args.dry_run and not args.check:
                return None  # the copy pass said it already
            return sys.stderr, f"copy failed: {src} to {dst} {record.reason}"
        if args.quiet or args.check:
            return None
        if record.action == "copied" or (args.dry_run and record.action in ("missing", "differs")):
            dry = "(dryrun) " if args.dry_run else ""
            return sys.stdout, f"{dry}copy: {src} to {dst}"
        return None


def _outcome(report: MigrationReport) -> str:
    if not report.steps:
        return f"migrate: no rule under {report.url} has a fallback: nothing to migrate"
    if report.ok:
        return "migrate: nothing left: every fallback's objects are on its rule's client"
    return f"migrate: {report.left:,} object(s) left to copy; run it again (or see the lines above)"


def run_migrate(args: argparse.Namespace, s3: RoutingClient) -> int:
    """Run ``botwo migrate`` with the routing client of ``--config``; returns the exit status."""
    show_progress = not (args.quiet or args.no_progress or args.check) and sys.stderr.isatty()
    lines = _Lines(args)
    display = Display(lines.line, sys.stderr if show_progress else None)
    start: Callable[[MigrationPass], None] = lines.start
    try:
        report = migrate(
            s3,
            args.url,
            dry_run=args.dry_run or args.check,
            checksum=args.checksum,
            filters=args.filters or (),
            transfers=args.transfers,
            report=args.report,
            on_pass=start,
            on_record=display.record,
            on_progress=display.progress,
        )
    except ValueError as err:  # a malformed URL, a client's address
        print(f"botwo migrate: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except ReadOnlyError as err:
        print(f"botwo migrate: error: {err.response['Error']['Message']}", file=sys.stderr)
        return EXIT_USAGE
    except (SyncError, OSError) as err:
        print(f"fatal error: {err}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        display.clear()
    if not args.quiet:
        for _, text in report.skipped:
            print(f"skip: {text}", file=sys.stderr)
        for step in report.steps:
            print(f"migrate: {step.summary()}", file=sys.stderr)
        print(_outcome(report), file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_FAILED
