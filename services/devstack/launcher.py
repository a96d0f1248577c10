"""`kanava up`: the whole stack on one machine, on a real Kafka and Postgres or embedded ones."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from zoneinfo import ZoneInfo

from sqlalchemy.engine import make_url

from services.common import token_store as tokens
from services.common.bookkeeping import forget_offsets
from services.common.db import create_engine, migrate
from services.common.guards import DEV_TOKEN_NAME, refuse_dev_stack_in_production
from services.common.ops_http import PortInUse, bind
from services.common.settings import Settings, get_settings
from services.common.tokens import new_token
from services.common.topics import ensure_topics
from services.devstack.broker import tansu_argv, wait_listening
from services.devstack.children import Child, stop_all
from services.devstack.monitoring import Monitoring
from services.devstack.postgres import EmbeddedPostgres
from services.devstack.supervisor import Supervisor
from services.simulator.cli import nps_drop
from services.simulator.feedback import Drop


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str


# The consumer services, in start order; each is `python -m <module>`.
SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("chat_metrics", "services.chat_metrics"),
    ServiceSpec("pathway_metrics", "services.pathway_metrics"),
    ServiceSpec("feedback_ingest", "services.feedback_ingest"),
    ServiceSpec("contact_metrics", "services.contact_metrics"),
)
SIMULATOR = "simulator"
HISTORY = "history"
HISTORY_MONTHS = 12


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("up", help="run the whole stack until Ctrl-C")
    parser.add_argument("--simulate", action="store_true", help="also run the simulator")
    parser.add_argument(
        "--backfill-days",
        type=int,
        default=7,
        help="days of history the simulator writes first (default 7)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="simulated time runs this many times faster (default 1)",
    )
    parser.add_argument(
        "--history",
        action="store_true",
        help=f"once up, import {HISTORY_MONTHS} months of sample exports from before the "
        "simulator's backfill (kanava demo-history)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--nps-drop",
        type=nps_drop,
        metavar="UNIT:DAY[:DELTA]",
        help="the simulator lowers the unit's NPS from DAY on (see kanava simulate --help)",
    )
    parser.set_defaults(handler=run)
    prepare_parser = subparsers.add_parser(
        "prepare",
        help="migrate KANAVA_DATABASE_URL and create the topics on KANAVA_KAFKA_BOOTSTRAP "
        "(a deployment's step before the services start)",
    )
    prepare_parser.set_defaults(handler=prepare)


def prepare(_: argparse.Namespace) -> int:
    settings = get_settings()
    url = settings.require_database_url()
    try:
        migrate(url)
        asyncio.run(ensure_topics(settings.bootstrap(), settings.topic_partitions))
    except Exception as exc:
        print(f"kanava prepare: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"kanava prepare: {shown(url)} migrated; topics ready on {settings.bootstrap()}")
    return 0


def run(args: argparse.Namespace) -> int:
    refuse_dev_stack_in_production(get_settings())
    settings = get_settings()
    stack = DevStack(settings)
    stopping = threading.Event()

    def on_signal(signum: int, _: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        stack.check_ports()
        stack.start(args)
        stack.print_urls(args)
        stack.supervise(stopping)
    except (PortInUse, StackError) as exc:
        print(f"kanava up: {exc}", file=sys.stderr)
        return 2
    finally:
        stack.stop()
    print("kanava up: stopped, nothing left running")
    return 0


async def _forget_offsets(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1)
    async with engine.begin() as conn:
        await forget_offsets(conn)
    await engine.dispose()


async def _dev_token(database_url: str) -> str:
    """A token for the developer at the keyboard, new at every start; the earlier ones are
    revoked with it (their secrets are not stored, so they could not be shown again)."""
    token = new_token()
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await tokens.revoke_named(conn, DEV_TOKEN_NAME)
            await tokens.create(conn, token, DEV_TOKEN_NAME, ["ingest", "read"], [], [])
    finally:
        await engine.dispose()
    return token.token


def shown(database_url: str) -> str:
    """The URL without its password, for the screen and logs."""
    return make_url(database_url).render_as_string(hide_password=True)


class StackError(RuntimeError):
    pass


class DevStack:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.children: list[Child] = []
        self.postgres: EmbeddedPostgres | None = None
        self.broker: Child | None = None
        self.database_url = settings.database_url or ""
        self.dev_token = ""
        self.monitoring = Monitoring.installed(settings)
        self.monitors: list[Child] = []

    def check_ports(self) -> None:
        ports = [(self.settings.metrics_port(s.name), s.name) for s in SERVICES]
        ports.append((self.settings.gateway_port, "gateway"))
        ports += self.monitoring.ports()
        if not self.settings.kafka_bootstrap:
            ports.insert(0, (self.settings.dev_broker_port, "Kafka broker"))
        for port, what in ports:
            try:
                bind(port, "127.0.0.1").close()
            except PortInUse as exc:
                raise PortInUse(f"{what}: {exc}") from None

    @property
    def broker_log(self) -> Path:
        return self.settings.data_dir / "logs" / "tansu.log"

    def start(self, args: argparse.Namespace) -> None:
        if not self.settings.kafka_bootstrap:
            argv = tansu_argv(self.settings.dev_broker_port)
            self.broker = Child("Kafka broker (Tansu)", argv, log_file=self.broker_log)
            self._start_broker()
        if not self.database_url:
            self.postgres = EmbeddedPostgres(self.settings.data_dir)
            self.database_url = self.postgres.start()
        self._create_topics()
        try:
            migrate(self.database_url)
            if self.broker:
                asyncio.run(_forget_offsets(self.database_url))
            self.dev_token = asyncio.run(_dev_token(self.database_url))
        except Exception as exc:
            raise StackError(
                f"cannot migrate the database at {shown(self.database_url)}: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        env = os.environ | {
            "KANAVA_KAFKA_BOOTSTRAP": self.settings.bootstrap(),
            "KANAVA_DATABASE_URL": self.database_url,
        }
        if args.history:
            env = env | history_horizon(args.backfill_days if args.simulate else 0)
        self.children = [Child(s.name, [sys.executable, "-m", s.module], env) for s in SERVICES]
        self.children.append(Child("gateway", [sys.executable, "-m", "services.gateway"], env))
        if args.simulate:
            self.children.append(
                Child(
                    SIMULATOR,
                    [
                        sys.executable,
                        "-m",
                        "services.cli",
                        "simulate",
                        "--backfill-days",
                        str(args.backfill_days),
                        "--speed",
                        str(args.speed),
                        "--seed",
                        str(args.seed),
                        *drop_arguments(args.nps_drop),
                    ],
                    env,
                )
            )
        if args.history:
            self.children.append(Child(HISTORY, self.history_argv(args), env))
        for child in self.children:
            child.start()
        self._start_monitoring()

    def history_argv(self, args: argparse.Namespace) -> list[str]:
        """The demo's history ends where the simulator's backfill begins, so no day is
        counted twice."""
        today = datetime.now(ZoneInfo(self.settings.timezone)).date()
        before = today - timedelta(days=args.backfill_days if args.simulate else 0)
        return [
            sys.executable,
            "-m",
            "services.cli",
            "demo-history",
            str(self.settings.data_dir / "sample-exports"),
            "--before",
            before.isoformat(),
            "--months",
            str(HISTORY_MONTHS),
            "--seed",
            str(args.seed),
        ]

    def _start_broker(self) -> None:
        assert self.broker is not None
        try:
            wait_listening(self.broker.start(), self.settings.dev_broker_port, self.broker_log)
        except RuntimeError as exc:
            raise StackError(str(exc)) from None

    def _create_topics(self) -> None:
        try:
            asyncio.run(ensure_topics(self.settings.bootstrap(), self.settings.topic_partitions))
        except Exception as exc:
            raise StackError(
                f"cannot create topics on {self.settings.bootstrap()}: {exc}"
            ) from None

    def _restart_broker(self) -> None:
        """The broker again, empty: its topics again, and the stored offsets forgotten as they
        point past the new topics' ends (what uses the broker is stopped until then, so no
        offset of the old topics is stored after this)."""
        self._start_broker()
        self._create_topics()
        try:
            asyncio.run(_forget_offsets(self.database_url))
        except Exception as exc:
            raise StackError(f"cannot forget the stored offsets: {exc}") from None

    def _start_monitoring(self) -> None:
        try:
            self.monitoring.start()
        except RuntimeError as exc:
            raise StackError(str(exc)) from None
        finally:
            self.monitors = list(self.monitoring.started)

    def print_urls(self, args: argparse.Namespace) -> None:
        s = self.settings
        broker = "(Tansu, in memory)" if self.broker else "(configured)"
        database = "(embedded)" if self.postgres else "(configured)"
        lines = [
            "Kanava dev stack is up:",
            f"  Kafka broker     {s.bootstrap()} {broker}",
            f"  PostgreSQL       {shown(self.database_url)} {database}",
            *(
                f"  {spec.name:<16} http://127.0.0.1:{s.metrics_port(spec.name)}/metrics"
                for spec in SERVICES
            ),
        ]
        gateway = f"http://127.0.0.1:{s.gateway_port}"
        lines += [
            f"  gateway          {gateway}/docs (API), {gateway}/ (wallboard)",
            f"  dev token        {self.dev_token} (read, ingest; earlier dev tokens revoked; "
            "`kanava token` manages tokens)",
            *self.monitoring.lines(),
        ]
        if args.simulate:
            lines.append(
                f"  simulator        {args.backfill_days} days backfilled, then real "
                f"time x{args.speed:g}"
            )
        if args.history:
            lines.append(
                f"  history          {HISTORY_MONTHS} months of sample exports being imported "
                f"from {s.data_dir / 'sample-exports'}"
            )
        lines.append("Ctrl-C stops everything.")
        print("\n".join(lines), flush=True)

    def supervise(self, stopping: threading.Event) -> None:
        """Restart what exits until `stopping` is set; the broker with everything using it."""
        supervisor = Supervisor()
        clients = [
            supervisor.watch(c, finishes=c.name in (SIMULATOR, HISTORY)) for c in self.children
        ]
        for monitor in self.monitors:
            supervisor.watch(monitor)
        if self.broker:
            supervisor.watch(
                self.broker,
                start=self._restart_broker,
                dependents=clients,
                note=broker_restart_note(self.children),
            )
        while not stopping.wait(0.5):
            supervisor.check()

    def stop(self) -> None:
        stop_all(self.monitors)
        stop_all(self.children)
        if self.broker:
            stop_all([self.broker], grace=5)
        if self.postgres:
            self.postgres.stop()


def history_horizon(backfill_days: int) -> dict[str, str]:
    """A dedupe horizon that keeps the demo's history above the floor (docs/import.md): the
    default 62 days would make it too_old once the live events move the floor. One set in the
    environment is left as it is."""
    if "KANAVA_DEDUPE_HORIZON_DAYS" in os.environ:
        return {}
    days = backfill_days + (HISTORY_MONTHS + 1) * 31
    return {"KANAVA_DEDUPE_HORIZON_DAYS": str(days)}


def broker_restart_note(clients: list[Child]) -> str:
    names = ", ".join(c.name for c in clients)
    return (
        "; it keeps its topics in memory, so it comes back empty (events not yet consumed "
        f"are lost) and the stored offsets are forgotten; {names} stop until it is back"
    )


def drop_arguments(drop: Drop | None) -> list[str]:
    """The simulator's --nps-drop for a drop checked here (a date, so both read one day)."""
    if drop is None:
        return []
    return ["--nps-drop", f"{drop.unit_id}:{drop.from_day.isoformat()}:{drop.nps_delta:g}"]
