"""The service side by side with what a user would otherwise build: `python -m bench.peers`.

Starts its own Tansu broker and embedded PostgreSQL, produces one simulated chat backlog
(>= 300 000 events over 84 days) to `chat.events`, then each consumer reads all of it from
the beginning in a consumer group of its own, one at a time:
1. the real `python -m services.chat_metrics` (stopped once it has committed everything);
2. the tutorial consumer (`bench.naive`: one ORM row and one commit per event), in a process
   of its own;
3. quixstreams, the stream-processing library a Python team would pick: an idiomatic
   Application counting offered and answered per queue and local day (group_by, a stateful
   count, PostgreSQLSink upserts), in a process of its own.
Then the service's and quixstreams' counts per queue and day are checked against each other
and against the produced events. Prints a table and writes the peers section of
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import psutil

from bench.chat_metrics import BENCHMARK
from bench.events import Backlog, Message, chat_backlog, last_local_midnight
from bench.figures import header, phases_table
from bench.harness import PARTITIONS, TZ, Phases, arguments, consume_backlog, run_main, timed
from bench.infra import Infra, cpu_used, stop_process
from bench.measure import BacklogRun
from bench.naive import NaiveResult, run_naive
from bench.report import Figure, mib, rate, table
from services.common.settings import PROJECT_ROOT
from services.devstack.postgres import DATABASE

if TYPE_CHECKING:
    from quixstreams import State

QUIXSTREAMS = "quixstreams[postgresql]==3.28.1"
"""Layered over the project's environment with `uv run --with`: no quixstreams >= 1 can be
locked with the project (each caps pydantic < 2.14 or pydantic-settings < 2.16; the project
needs pydantic >= 2.14 and pydantic-settings >= 2.16.3)."""
UV = PROJECT_ROOT / ".kanava" / "tools" / "bin" / "uv"
QUIX_GROUP = "bench_quix"
QUIX_TABLE = "bench_quix_queue_daily"
FIRST_MESSAGE = "quix-first-message.json"
COUNTED = ("chat.queued", "chat.transferred", "chat.answered")
"""Entries into a queue (queued, transferred in) and answers: offered and answered as
docs/metrics.md defines them."""
KAFKA_DEFAULT_RETENTION_MS = "604800000"
GROUP_TIMEOUTS = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 2000}
"""The service's own consumer group settings."""
QueueDays = dict[tuple[str, date], tuple[int, int]]
"""(offered, answered) per (queue_id, local day)."""
_CREATE_QUIX_TABLE = f"""
CREATE TABLE {QUIX_TABLE} (
    queue_id text, day date, offered bigint NOT NULL, answered bigint NOT NULL,
    PRIMARY KEY (queue_id, day)
)"""
_QUIX_STORED = f"SELECT coalesce(sum(offered + answered), 0) FROM {QUIX_TABLE}"


@dataclass(frozen=True)
class NaiveRun:
    result: NaiveResult
    cpu_s: float
    """CPU (user+system) of its process while it consumed."""
    peak_rss: int
    rss_before: int
    """Its process's peak RSS before it started: Python and the imports of bench.peers."""


@dataclass(frozen=True)
class QuixRun:
    events: int
    startup_s: float
    """Worker start (before quixstreams is imported) to its first processed message."""
    seconds: float
    """First processed message to all counts stored."""
    cpu_s: float
    """The worker's interpreter, whole life."""
    cpu_after_first_s: float
    peak_rss: int
    rss_before: int
    """The worker's peak RSS before it imported quixstreams (Python, bench.peers)."""
    infra_cpu_s: float
    """CPU of the broker and PostgreSQL from the worker's start to the end."""

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def rate_total(self) -> float:
        return self.events / (self.startup_s + self.seconds)


@dataclass(frozen=True)
class Results:
    backlog: Backlog
    service: BacklogRun
    service_exit: int | None
    naive: NaiveRun
    quix: QuixRun
    produced: QueueDays
    service_days: QueueDays
    quix_days: QueueDays


def main(argv: Sequence[str] | None = None) -> int:
    parser = arguments("python -m bench.peers", __doc__, events=300_000, days=84)
    parser.add_argument(
        "--quix-worker",
        nargs=3,
        metavar=("BOOTSTRAP", "SOCKET_DIR", "WORKDIR"),
        help="internal: run the quixstreams peer (started by the benchmark)",
    )
    args = parser.parse_args(argv)
    if args.quix_worker:
        return quix_worker(*args.quix_worker)

    def render(results: Results, phases: Phases, busy: float) -> str:
        line = " ".join(
            [".venv/bin/python -m bench.peers", *(argv if argv is not None else sys.argv[1:])]
        )
        head = header(
            f"`{line}`",
            busy,
            f"`{BENCHMARK.stream.topic}` with {PARTITIONS} partitions, one consumer at a time",
        )
        how = "How:\n" + "\n".join(notes(results, args))
        return "\n\n".join([head, table(figures(results, args)), how, phases_table(phases)])

    return run_main("peers", args, measure, render)


def measure(args: argparse.Namespace, phases: Phases) -> Results:
    end = last_local_midnight(TZ)
    _, events = BENCHMARK.simulate(
        phases, lambda registry: chat_backlog(registry, TZ, args.events, args.days, end)
    )
    with timed(phases, "count offered and answered per queue and day in the backlog"):
        produced = produced_counts(events.messages)
    return BENCHMARK.on_infrastructure(
        args, phases, lambda infra: run(infra, events, produced, args, phases)
    )


async def run(
    infra: Infra, events: Backlog, produced: QueueDays, args: argparse.Namespace, phases: Phases
) -> Results:
    counted = sum(offered + answered for offered, answered in produced.values())
    async with BENCHMARK.service_and_database(infra, args) as (service, db):
        backlog = await consume_backlog(infra, service, db, events, phases)
        service.stop()
        service_days = await queue_days(db, "chat_queue_daily")
        with timed(phases, "2. tutorial consumer, in a process of its own"):
            naive = await naive_alone(infra, args)
        with timed(phases, "3. quixstreams, in a process of its own"):
            quix = await measure_quix(infra, db, len(events.messages), counted)
        quix_days = await queue_days(db, QUIX_TABLE)
    return Results(
        events, backlog, service.exit_code, naive, quix, produced, service_days, quix_days
    )


# --- what is counted -----------------------------------------------------------------------------


def queue_day_entry(event: dict[str, Any]) -> dict[str, Any]:
    """What one counted event adds to its queue's local day (event time, Europe/Helsinki)."""
    kind, data = event["type"], event["data"]
    queue = data["to_queue_id"] if kind == "chat.transferred" else data["queue_id"]
    day = datetime.fromisoformat(event["time"]).astimezone(TZ).date().isoformat()
    answered = kind == "chat.answered"
    return {"queue_id": queue, "day": day, "offered": int(not answered), "answered": int(answered)}


def produced_counts(messages: Sequence[Message]) -> QueueDays:
    counts: QueueDays = {}
    for _, value in messages:
        event = json.loads(value)
        if event["type"] in COUNTED:
            entry = queue_day_entry(event)
            key = (entry["queue_id"], date.fromisoformat(entry["day"]))
            offered, answered = counts.get(key, (0, 0))
            counts[key] = (offered + entry["offered"], answered + entry["answered"])
    return counts


async def queue_days(db: asyncpg.Connection, table_name: str) -> QueueDays:
    rows = await db.fetch(
        f"SELECT queue_id, day, offered, answered FROM {table_name} "
        "WHERE offered > 0 OR answered > 0"
    )
    return {(r["queue_id"], r["day"]): (r["offered"], r["answered"]) for r in rows}


# --- 2. the tutorial consumer in a process of its own --------------------------------------------


async def naive_alone(infra: Infra, args: argparse.Namespace) -> NaiveRun:
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        return await asyncio.get_running_loop().run_in_executor(
            pool,
            _naive_process,
            infra.bootstrap,
            infra.database_url,
            BENCHMARK.stream.topic,
            BENCHMARK.naive_fields,
            args.naive_events,
            args.naive_seconds,
        )


def _naive_process(
    bootstrap: str, url: str, topic: str, fields: tuple[str, str], limit: int, seconds: float
) -> NaiveRun:
    """`run_naive` in this process."""
    rss_before, cpu_before = peak_rss(), time.process_time()
    result = asyncio.run(run_naive(bootstrap, url, topic, fields, limit, seconds))
    return NaiveRun(result, time.process_time() - cpu_before, peak_rss(), rss_before)


def peak_rss(pid: int | str = "self") -> int:
    """VmHWM: the highest resident set size the process has had, in bytes."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))


# --- 3. quixstreams ------------------------------------------------------------------------------


def quix_worker(bootstrap: str, socket_dir: str, workdir: str) -> int:
    """The quixstreams peer as a Python team would write it; runs until SIGTERM."""
    started, rss_before = time.monotonic(), peak_rss()
    from quixstreams import Application
    from quixstreams.sinks.community.postgresql import PostgreSQLSink

    _state_retention_explicitly(bootstrap)
    app = Application(
        broker_address=bootstrap,
        consumer_group=QUIX_GROUP,
        auto_offset_reset="earliest",
        state_dir=Path(workdir) / "quix-state",
        consumer_extra_config=GROUP_TIMEOUTS,
        on_message_processed=FirstMessage(Path(workdir) / FIRST_MESSAGE, started, rss_before),
    )
    events = app.dataframe(app.topic(BENCHMARK.stream.topic, value_deserializer="json"))
    entries = events[events["type"].isin(COUNTED)].apply(queue_day_entry)
    totals = entries.group_by(queue_day_key, name="queue_day").apply(add_to_totals, stateful=True)
    totals.sink(
        PostgreSQLSink(
            host=socket_dir,
            port=5432,
            dbname=DATABASE,
            user="postgres",
            password="",
            table_name=QUIX_TABLE,
            schema_auto_update=False,
            primary_key_columns=["queue_id", "day"],
            upsert_on_primary_key=True,
            include_metadata=False,
        )
    )
    app.run()
    return 0


def _state_retention_explicitly(bootstrap: str) -> None:
    """Tansu describes only the topic configs that were set explicitly, and quixstreams'
    group_by needs the input topic's `retention.ms` (KeyError otherwise): set Kafka's default
    (IncrementalAlterConfigs; Tansu does not support AlterConfigs)."""
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.admin._config import AlterConfigOpType, ConfigEntry, ConfigResource

    retention = ConfigEntry(
        "retention.ms", KAFKA_DEFAULT_RETENTION_MS, incremental_operation=AlterConfigOpType.SET
    )
    topic = ConfigResource("topic", BENCHMARK.stream.topic, incremental_configs=[retention])
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.incremental_alter_configs([topic]).values():
        future.result()


def queue_day_key(entry: dict[str, Any]) -> str:
    return f"{entry['queue_id']}|{entry['day']}"


def add_to_totals(entry: dict[str, Any], state: State) -> dict[str, Any]:
    """The running totals of the entry's queue and day (the message key), kept in the state
    store; the row to upsert."""
    row = {"queue_id": entry["queue_id"], "day": entry["day"]}
    for measure_name in ("offered", "answered"):
        row[measure_name] = state.get(measure_name, 0) + entry[measure_name]
        state.set(measure_name, row[measure_name])
    return row


@dataclass(frozen=True)
class WorkerStart:
    """What the quixstreams worker tells at its first message; times on the monotonic clock
    (the same in every process)."""

    started: float
    rss_before: int
    first_message: float


@dataclass
class FirstMessage:
    """quixstreams' `on_message_processed`: at the first message, writes its `WorkerStart`
    to `path` as JSON."""

    path: Path
    started: float
    rss_before: int
    seen: bool = False

    def __call__(self, topic: str, partition: int, offset: int) -> None:
        if not self.seen:
            self.seen = True
            start = WorkerStart(self.started, self.rss_before, time.monotonic())
            written = self.path.with_suffix(".tmp")
            written.write_text(json.dumps(asdict(start)))
            written.replace(self.path)


class QuixWorker:
    """`python -m bench.peers --quix-worker` under `uv run --with quixstreams…`: the project's
    environment with quixstreams layered over it. uv forwards SIGTERM to the interpreter."""

    def __init__(self, infra: Infra) -> None:
        self.log_file = infra.workdir / "quixstreams.log"
        self.first_file = infra.workdir / FIRST_MESSAGE
        worker = ["--quix-worker", infra.bootstrap, infra.socket_dir, str(infra.workdir)]
        run = [str(UV), "run", "--no-sync", "--with", QUIXSTREAMS]
        self.argv = [*run, "python", "-m", "bench.peers", *worker]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                cwd=PROJECT_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,
            )

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, 30.0)

    def check_alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            tail = self.log_file.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the quixstreams worker is not running; its log ends with:\n{tail}")

    def start_told(self) -> WorkerStart | None:
        """Once it processed its first message."""
        if not self.first_file.exists():
            return None
        return WorkerStart(**json.loads(self.first_file.read_text()))

    def interpreter(self) -> psutil.Process:
        assert self.process is not None
        (python,) = psutil.Process(self.process.pid).children()
        return python

    def cpu_seconds(self) -> float:
        times = self.interpreter().cpu_times()
        return float(times.user + times.system)


async def measure_quix(
    infra: Infra, db: asyncpg.Connection, events: int, counted: int, within: float = 900.0
) -> QuixRun:
    """Start the worker on the full topic; poll its table every 50 ms until its counts add up
    to `counted`."""
    await db.execute(_CREATE_QUIX_TABLE)
    worker = QuixWorker(infra)
    worker.start()
    try:
        return await _until_stored(worker, infra, db, events, counted, time.monotonic() + within)
    finally:
        worker.stop()


async def _until_stored(
    worker: QuixWorker,
    infra: Infra,
    db: asyncpg.Connection,
    events: int,
    counted: int,
    deadline: float,
) -> QuixRun:
    others = infra.cpu_seconds()
    first: tuple[WorkerStart, float] | None = None
    while True:
        tick = time.monotonic()
        if first is None and (start := worker.start_told()) is not None:
            first = (start, worker.cpu_seconds())
        stored = await db.fetchval(_QUIX_STORED)
        now = time.monotonic()
        if first is not None and stored >= counted:
            break
        worker.check_alive()
        if now > deadline:
            raise TimeoutError(f"quixstreams stored {stored} of {counted} counts in time")
        await asyncio.sleep(max(0.0, 0.05 - (time.monotonic() - tick)))
    start, cpu_at_first = first
    cpu = worker.cpu_seconds()
    return QuixRun(
        events=events,
        startup_s=start.first_message - start.started,
        seconds=now - start.first_message,
        cpu_s=cpu,
        cpu_after_first_s=cpu - cpu_at_first,
        peak_rss=peak_rss(worker.interpreter().pid),
        rss_before=start.rss_before,
        infra_cpu_s=sum(cpu_used(others, infra.cpu_seconds()).values()),
    )


# --- the results ---------------------------------------------------------------------------------


def figures(r: Results, args: argparse.Namespace) -> list[Figure]:
    return [*_throughputs(r, args), *_resources(r), *_exactness(r)]


def _throughputs(r: Results, args: argparse.Namespace) -> list[Figure]:
    service, naive, quix = r.service.throughput, r.naive.result, r.quix
    bound = f"{args.naive_events} events or {args.naive_seconds:.0f} s"
    return [
        Figure("service, first commit → all committed", rate(service.rate_steady)),
        Figure("service, process start → all committed", rate(service.rate_total)),
        Figure("tutorial consumer, first message → last commit", rate(naive.rate), bound),
        Figure("quixstreams, first message → all stored", rate(quix.rate)),
        Figure("quixstreams, worker start → all stored", rate(quix.rate_total)),
        Figure("ratio service ÷ tutorial consumer", _ratio(service.rate_steady, naive.rate)),
        Figure("ratio service ÷ quixstreams", _ratio(service.rate_steady, quix.rate)),
    ]


def _resources(r: Results) -> list[Figure]:
    service, naive, quix = r.service.throughput, r.naive, r.quix
    service_after = service.cpu_after_first_s / (service.events - service.first_batch)
    return [
        Figure("CPU per event, service (whole life; after the first commit)",
               f"{_us(service.cpu_s / service.events)}; {_us(service_after)}"),
        Figure("CPU per event, tutorial consumer", _us(naive.cpu_s / naive.result.events)),
        Figure("CPU per event, quixstreams (whole life; after the first message)",
               f"{_us(quix.cpu_s / quix.events)}; {_us(quix.cpu_after_first_s / quix.events)}"),
        Figure("CPU per event of Tansu + PostgreSQL meanwhile: service; quixstreams",
               f"{_us(sum(service.other_cpu.values()) / service.events)}; "
               f"{_us(quix.infra_cpu_s / quix.events)}"),
        Figure("peak RSS (VmHWM), service", mib(service.peak_rss)),
        Figure("peak RSS, tutorial consumer (before it started)",
               f"{mib(naive.peak_rss)} ({mib(naive.rss_before)})"),
        Figure("peak RSS, quixstreams (before quixstreams was imported)",
               f"{mib(quix.peak_rss)} ({mib(quix.rss_before)})"),
    ]  # fmt: skip


def _exactness(r: Results) -> list[Figure]:
    return [
        _agreement("offered, answered per queue and day: service = produced events",
                   r.service_days, r.produced),
        _agreement("offered, answered per queue and day: quixstreams = produced events",
                   r.quix_days, r.produced),
        _agreement("offered, answered per queue and day: quixstreams = service",
                   r.quix_days, r.service_days),
    ]  # fmt: skip


def _agreement(name: str, counts: QueueDays, reference: QueueDays) -> Figure:
    rows = counts.keys() | reference.keys()
    differ = sum(counts.get(row) != reference.get(row) for row in rows)
    value = f"{differ} of {len(rows)} rows differ" if differ else f"equal ({len(rows)} rows)"
    return Figure(name, value, "equal", differ == 0)


def _ratio(value: float, other: float) -> str:
    return f"{value / other:.1f}x" if other else "n/a"


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs"


def notes(r: Results, args: argparse.Namespace) -> list[str]:
    b, naive = r.backlog, r.naive.result
    stopped = " (stopped by the time bound)" if naive.stopped_by_time else ""
    return [
        f"- Backlog: {len(b.messages)} events, `simulate_chat` over {b.days} days of the demo "
        f"registry ({b.start:%Y-%m-%d} to {b.end:%Y-%m-%d}) with {b.seeds} seeds, contact and "
        f"agent ids prefixed per seed, merged in time order; produced once before any consumer "
        f"started. Each consumer reads it from the beginning in a consumer group of its own and "
        f"is stopped before the next one starts.",
        f"- Service: `python -m services.chat_metrics`, batches of at most {args.batch or 5000} "
        f"records; committed offsets polled every 50 ms in `consumer_offsets`; CPU and peak RSS "
        f"of its process; exit code after SIGTERM: {r.service_exit}.",
        f"- Tutorial consumer: `bench.naive` (aiokafka with auto commit, `json.loads`, one "
        f"SQLAlchemy ORM row and one `await session.commit()` per event) in a spawned process: "
        f"{naive.events} events in {naive.seconds:.1f} s{stopped} (group join before the first "
        f"message: {naive.startup_seconds:.1f} s). CPU of that process while it consumed; the "
        f"RSS it had before is Python and the imports of bench.peers (the quixstreams worker "
        f"has them too).",
        *_quix_notes(r.quix),
        "- Counts compared: offered (`chat.queued` into the queue plus `chat.transferred` into "
        "it as `to_queue_id`, docs/metrics.md) and answered (`chat.answered`) per queue and "
        "local day "
        "(Europe/Helsinki) of the event time: counted by the benchmark from the messages it "
        "produced; the service's from `chat_queue_daily`; quixstreams' from its own table. "
        "Rows with both counts zero are left out.",
    ]


def _quix_notes(q: QuixRun) -> list[str]:
    return [
        f"- quixstreams: {QUIXSTREAMS} (confluent-kafka, librdkafka), an `Application` in "
        f"group `{QUIX_GROUP}` from the earliest offset, at-least-once (the default; "
        f"exactly-once needs Kafka transactions, which Tansu lacks), the service's session "
        f"timeout (6 s; with librdkafka's 45 s Tansu took ≈ 20 s to assign the partitions): "
        f"JSON values → the three counted types → (queue, local day, offered 0/1, answered "
        f"0/1) → `group_by(queue|day)` (a repartition topic) → `apply(stateful=True)` adding "
        f"to running totals in the RocksDB state store (a compacted changelog topic) → "
        f"`PostgreSQLSink` upserting on (queue_id, day) at every checkpoint (5 s, the "
        f"default) into a table the benchmark created. That is the docs' group_by + State "
        f"pattern; a one-day `tumbling_window` would cut days at UTC midnight, not "
        f"Helsinki's, and drop events later than its grace period. It keeps these two counts "
        f"only and has no deduplication by event id (a re-sent event counts twice); the "
        f"service keeps every figure of docs/metrics.md from each contact's story, drops duplicate "
        f"ids and commits its offsets in the same PostgreSQL transaction.",
        f"- quixstreams against Tansu: it needed one change. Tansu describes only the topic "
        f"configs that were set explicitly, so `group_by` failed with `KeyError: "
        f"'retention.ms'` (deriving the repartition topic's config from the input topic's); "
        f"the worker first sets `retention.ms` = {KAFKA_DEFAULT_RETENTION_MS} (Kafka's "
        f"default) on `chat.events` by IncrementalAlterConfigs (AlterConfigs is unsupported). "
        f"Creating the internal topics, the idempotent producer, the group and the commits "
        f"worked as they are. Run by `uv run --no-sync --with` over the project's environment: "
        f"no quixstreams >= 1 can be locked with the project (each caps pydantic < 2.14 or "
        f"pydantic-settings < 2.16), uv resolves only 0.5.7, the old line on a native .NET "
        f"core with another API. Timed from its first processed message "
        f"(`on_message_processed`) until its table's offered + answered sums reach those of "
        f"the produced events (polled every 50 ms); worker start → first message "
        f"{q.startup_s:.1f} s (imports, internal topics, group join). CPU and peak RSS of the "
        f"worker's interpreter (uv's own process left out).",
    ]


if __name__ == "__main__":
    sys.exit(main())
