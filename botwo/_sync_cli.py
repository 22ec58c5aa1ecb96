"""``botwo sync SRC DST``: the command line of :func:`botwo.sync`.

Lines as ``aws s3 sync`` prints them: ``copy: SRC to DST`` and ``delete: DST`` on stdout
(``(dryrun) copy: ...`` with ``--dry-run``), ``copy failed: SRC to DST <why>`` on
stderr; on a terminal, a progress line on stderr (objects and bytes done, rate, ETA);
a summary on stderr at the end. Exit status 0 only when the source and the destination
agree at the end; 1 when a key failed or (``--dry-run``) something is left to do, or
the sync could not go on; 2 for a usage error or a read-only destination (nothing sent).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from ._address import Namespaces
from ._client import RoutingClient
from ._sync import SyncRecord, as_dir, progress_text
from ._syncer import SyncProgress, SyncReport, sync
from .errors import ReadOnlyError, SyncError

__all__ = ["Display", "FilterAction", "add_sync_options", "add_sync_parser", "run_sync", "transfers_arg"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class FilterAction(argparse.Action):
    """``--exclude`` / ``--include``, kept in the order given (the last match decides)."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: Any = None
    ) -> None:
        kind = "exclude" if self.dest == "exclude" else "include"
        filters = list(getattr(namespace, "filters", None) or [])
        filters.append((kind, values))
        namespace.filters = filters


def transfers_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def add_sync_parser(commands: Any, parent: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``botwo sync``'s options; the caller sets its handler."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "sync",
        parents=[parent],
        help="copy what is missing or different under a prefix (as aws s3 sync), across backends",
        description="Make DST hold every object under SRC: copy what DST lacks or holds "
        "differently (size, ETag where comparable, content with --checksum), streamed between "
        "backends, server-side on one. SRC and DST are s3://bucket/prefix (routed by the rules) "
        "or CLIENT://bucket/prefix (that backend, no rule). A second run copies only what is "
        "still missing or different. Exit 0 only when SRC and DST agree at the end.",
    )
    parser.add_argument("source", metavar="SRC", help="s3://bucket/prefix or CLIENT://bucket/prefix")
    parser.add_argument("dest", metavar="DST", help="s3://bucket/prefix or CLIENT://bucket/prefix")
    add_sync_options(parser)
    parser.add_argument(
        "--delete", action="store_true", help="delete what DST has and SRC lacks (never outside DST)"
    )
    return parser


def add_sync_options(parser: argparse.ArgumentParser) -> None:
    """The options ``sync`` and ``migrate`` share (all of sync's but ``--delete``)."""
    parser.add_argument("--dry-run", action="store_true", help="say what would be done; send no write")
    parser.add_argument(
        "--checksum",
        action="store_true",
        help="compare content where sizes match and ETags cannot tell (stored checksums, else hashes)",
    )
    parser.add_argument(
        "--exclude",
        action=FilterAction,
        metavar="GLOB",
        default=None,
        help="leave out keys (relative to SRC, or to migrate's URL) matching GLOB; repeatable; the last "
        "matching filter wins",
    )
    parser.add_argument(
        "--include",
        action=FilterAction,
        metavar="GLOB",
        default=None,
        help="take keys matching GLOB back in; repeatable",
    )
    parser.add_argument(
        "--transfers", type=transfers_arg, default=4, metavar="N", help="objects copied at once (default 4)"
    )
    parser.add_argument("--report", metavar="FILE", help="write one JSON line per key to FILE")
    parser.add_argument("--quiet", action="store_true", help="print only errors")
    parser.add_argument("--no-progress", action="store_true", help="no progress display on stderr")
    parser.set_defaults(filters=None)


class Display:
    """Result lines and, on a terminal, one progress line redrawn at most every 0.2 s."""

    def __init__(
        self,
        report_to: Callable[[SyncRecord], tuple[TextIO, str] | None],
        progress: TextIO | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lines = report_to
        self._progress = progress
        self._clock = clock
        self._drawn_at: float | None = None
        self._width = 0
        self._lock = threading.Lock()

    def record(self, record: SyncRecord) -> None:
        line = self._lines(record)
        if line is None:
            return
        stream, text = line
        with self._lock:
            self._erase()
            print(text, file=stream, flush=True)

    def progress(self, state: SyncProgress) -> None:
        if self._progress is None:
            return
        with self._lock:
            now = self._clock()
            if self._drawn_at is not None and now - self._drawn_at < 0.2:
                return
            text = progress_text(
                objects_done=state.objects_done,
                objects_total=state.objects_total,
                bytes_done=state.bytes_done,
                bytes_total=state.bytes_total,
                compared=state.compared,
                elapsed=state.elapsed,
                listed=state.listed,
            )
            self._progress.write("\r" + text.ljust(self._width))
            self._progress.flush()
            self._width = len(text)
            self._drawn_at = now

    def clear(self) -> None:
        with self._lock:
            self._erase()

    def _erase(self) -> None:
        if self._progress is not None and self._width:
            self._progress.write("\r" + " " * self._width + "\r")
            self._progress.flush()
        self._width = 0
        self._drawn_at = None


def _line_for(
    args: argparse.Namespace, source: str, dest: str
) -> Callable[[SyncRecord], tuple[TextIO, str] | None]:
    """What ``botwo sync`` prints for a record: aws's lines, stdout for done, stderr for failed."""
    base_src = source if source.endswith("/") else source + "/"
    base_dst = dest if dest.endswith("/") else dest + "/"

    def line(record: SyncRecord) -> tuple[TextIO, str] | None:
        src, dst = base_src + record.key, base_dst + record.key
        if record.action == "failed":
            kind = "copy" if record.step != "delete" else "delete"
            where = f"{src} to {dst}" if kind == "copy" else dst
            return sys.stderr, f"{kind} failed: {where} {record.reason}"
        if args.quiet:
            return None
        dry = "(dryrun) " if args.dry_run else ""
        if record.action in ("copied", "missing", "differs"):
            return sys.stdout, f"{dry}copy: {src} to {dst}"
        if record.action == "deleted" or (record.action == "extra" and args.delete):
            return sys.stdout, f"{dry}delete: {dst}"
        return None

    return line


def run_sync(args: argparse.Namespace, s3: RoutingClient) -> int:
    """Run ``botwo sync`` with the routing client of ``--config``; returns the exit status."""
    show_progress = not (args.quiet or args.no_progress) and sys.stderr.isatty()
    display: Display | None = None
    try:
        # The addresses are checked (and the lines' prefixes made) before anything is sent.
        names = Namespaces(s3)
        source, dest = names.parse(args.source), names.parse(args.dest)
        shown_src = str(source.with_key(as_dir(source.key)))
        shown_dst = str(dest.with_key(as_dir(dest.key)))
        display = Display(_line_for(args, shown_src, shown_dst), sys.stderr if show_progress else None)
        report: SyncReport = sync(
            s3,
            args.source,
            args.dest,
            dry_run=args.dry_run,
            delete=args.delete,
            checksum=args.checksum,
            filters=args.filters or (),
            transfers=args.transfers,
            report=args.report,
            on_record=display.record,
            on_progress=display.progress,
        )
    except ValueError as err:  # a malformed address, an unknown client, overlapping addresses
        print(f"botwo sync: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except ReadOnlyError as err:
        print(f"botwo sync: error: {err.response['Error']['Message']}", file=sys.stderr)
        return EXIT_USAGE
    except (SyncError, OSError) as err:
        print(f"fatal error: {err}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        if display is not None:
            display.clear()
    if not args.quiet:
        print(report.summary(), file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_FAILED
