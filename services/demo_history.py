"""`kanava demo-history DIR --before DAY`: the demo's year before go-live, as a county would
load it: the simulator writes sample exports (`kanava sample-exports`) and `kanava import`
sends each through Kafka. `kanava up --history` runs it once the stack is up."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from services.importer import cli as import_cli
from services.simulator import exports


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo-history", help="write the sample exports and import them", description=__doc__
    )
    parser.add_argument("directory", type=Path, metavar="DIR")
    parser.add_argument("--before", type=date.fromisoformat, required=True, metavar="YYYY-MM-DD")
    parser.add_argument("--months", type=int, default=12, metavar="N")
    parser.add_argument("--seed", type=int, default=1, metavar="N")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    written = exports.handle(args)
    if written:
        return written
    codes = [
        import_cli.run(
            argparse.Namespace(
                file=args.directory / export.file,
                mapping=(args.directory / export.file).with_suffix(".yaml"),
                dry_run=False,
                errors=None,
            )
        )
        for export in exports.EXPORTS
    ]
    return max(codes)
