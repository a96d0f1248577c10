"""The `kanava` command."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from services import demo_history, nps_alarms, skip_records, staffing
from services.common.events import STREAMS
from services.common.settings import PROJECT_ROOT, get_settings
from services.devstack import launcher
from services.devstack.postgres import command_database
from services.gateway.auth import cli as token_cli
from services.gateway.reports import cli as report_cli
from services.importer import cli as import_cli
from services.simulator import cli as simulator_cli
from services.simulator import exports as sample_exports

SCHEMA_DIR = PROJECT_ROOT / "infra" / "schemas"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kanava", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    launcher.register(subparsers)
    simulator_cli.register(subparsers)
    token_cli.register(subparsers)
    report_cli.register(subparsers)
    skip_records.register(subparsers)
    nps_alarms.register(subparsers)
    staffing.register(subparsers)
    import_cli.register(subparsers)
    sample_exports.register(subparsers)
    demo_history.register(subparsers)
    schemas = subparsers.add_parser("schemas", help="write the JSON Schemas of the event streams")
    schemas.set_defaults(handler=write_schemas)
    args = parser.parse_args(argv)
    if hasattr(args, "database_handler"):
        return _with_database(args)
    code: int = args.handler(args)
    return code


def _with_database(args: argparse.Namespace) -> int:
    """Commands on the database: the configured one, else the dev stack's embedded server."""
    settings = get_settings()
    with command_database(settings.database_url, settings.data_dir) as url:
        code: int = args.database_handler(args, url)
    return code


def schema_files() -> dict[str, str]:
    """The JSON Schema file of each stream, for producers: file name → content."""
    return {
        f"{stream.topic}.schema.json": json.dumps(
            stream.json_schema(), indent=2, ensure_ascii=False
        )
        + "\n"
        for stream in STREAMS.values()
    }


def write_schemas(_: argparse.Namespace) -> int:
    SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    for name, content in schema_files().items():
        (SCHEMA_DIR / name).write_text(content, encoding="utf-8")
        print(f"wrote {SCHEMA_DIR / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
