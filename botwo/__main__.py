"""The ``botwo`` command line: ``python -m botwo <command>`` (or the ``botwo`` script).

Commands:

* ``check``: validate the configuration, lint the rules, probe every backend;
* ``route``: which rule, client and target serve an ``s3://`` URL;
* ``ls``, ``cp``, ``rm``: ``aws s3``'s commands, through the routing client (see
  :mod:`botwo._cli`), or on one backend directly (``CLIENT://bucket/key``);
* ``sync``: copy what is missing or different under a prefix, across backends (see
  :mod:`botwo._sync_cli`);
* ``migrate``: copy what a rule's fallback clients hold onto the rule's client, and
  verify (see :mod:`botwo._migrate_cli`);
* ``demo``: the design's lakeFS migration on two local S3 servers, showing where each
  call of unchanged boto3 code goes (needs ``pip install "botwo[demo]"``).

``--config PATH`` (default: ``$BOTWO_CONFIG``, ``./botwo.toml``, then the user config
directory) and ``--debug`` go before or after the command name.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from . import __version__
from ._cli import add_global_options, register

__all__ = ["build_parser", "main"]

Command = Callable[[argparse.Namespace], int]


def _demo(args: argparse.Namespace) -> int:
    from ._demo import run

    return run(color=args.color)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="botwo",
        description="botwo: one boto3 S3 client over several S3-compatible services, "
        "routed by bucket/key rules.",
    )
    parser.add_argument("--version", action="version", version=f"botwo {__version__}")
    add_global_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    register(commands)

    demo = commands.add_parser(
        "demo",
        help="run the lakeFS-migration demo on two local S3 servers",
        description="Start two local S3 servers (standing in for S3 and for lakeFS), route "
        "unchanged boto3 code over them with the design's mapping, and show where each "
        'call went. Needs moto\'s server: pip install "botwo[demo]".',
    )
    demo.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="ANSI color: auto (default) colors a terminal unless NO_COLOR is set",
    )
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Command | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("\nbotwo: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
