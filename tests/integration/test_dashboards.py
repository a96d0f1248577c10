"""The dashboards proven on live data without Grafana: every query of every panel runs against
the real thing and answers with data.

The simulator's history goes to a broker of the test's own (chat 21 days, contacts 2, feedback
35 so the NPS drop z-score has its 28-day baseline, pathways 60 so every pathway has endings);
a real Prometheus starts on a configuration generated from infra/prometheus/prometheus.yml
(the project's rules copied beside it, every target at this test's ports, scraped every
second); the four consumer services and the gateway start and are scraped while they consume
the backlog. The simulated county is quiet at night and at weekends, so the test then sends a
few events of its own at the current time: a professional available on the first queue of the
registry, a client answered there and one still waiting, two chatbot sessions, a contact, an
answered survey and a completed pathway enrolment, plus a duplicate and a broken message on
each topic. "Today" and "now" panels thus have data at any hour, and rates over the last minute
have observations.

Then every PromQL target goes through Prometheus' HTTP API and every SQL target to PostgreSQL,
Grafana's variables and macros substituted: once with the first service area, unit, queue and
pathway of the demo registry (as the variables' own queries list them), once with every value
("All", the dashboards' default). Each must answer without error, with at least one series or
row and at least one real value (a finite number, a non-NULL cell), and time series in time
order with time zones. The Prometheus variables must list exactly what the registry holds, the
month variable this month first. No panel is excused: `NOT_CHECKED_FOR_DATA` is empty.

Also `promtool check metrics` on every service's /metrics text.

And one figure, one value: on that same data, the API, the monthly report, /metrics (through
Prometheus) and the dashboards' SQL give exactly the same float for today's and the month's
service level of a queue, the month's NPS, ci95 and response rate of a unit, its digital share
today and in the month, NPS over 30 days, a unit's statements of the national feedback model
over 30 days (n, mean and the answers 1-5 of each), and a pathway's completion rate in the
month.
"""

from __future__ import annotations

import asyncio
import math
import re
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.events import CHAT, CONTACT, FEEDBACK, PATHWAY, Envelope, Stream
from services.common.hashing import hash_recipient
from services.common.months import Month, months_before
from services.common.producer import new_producer, publish, publish_raw
from services.common.registry import Registry, load_registry
from services.common.settings import Settings
from services.devstack.monitoring import (
    PROMETHEUS_BINARIES,
    find_binary,
    project_rule_files,
    prometheus_argv,
    prometheus_config,
    start_logged,
    wait_ready,
    write_yaml,
)
from services.simulator.chat import simulate_chat
from services.simulator.contacts import simulate_contacts
from services.simulator.feedback import simulate_feedback
from services.simulator.pathways import simulate_pathways
from services.simulator.run import publish_batches
from tests.support.chat_events import chat
from tests.support.contact_events import contact
from tests.support.feedback_events import answered, sent
from tests.support.gateway import token
from tests.support.harness import ServiceProcess, consumer_service, wait_consumed
from tests.support.infra import free_port
from tests.support.pathway_events import pathway
from tests.unit.test_dashboards import (
    DASHBOARDS,
    POSTGRES,
    PROMETHEUS,
    load,
    panels,
    query_of,
    variable_query,
    variables,
)

TZ = ZoneInfo("Europe/Helsinki")
REGISTRY_FILE = Settings().registry_file
REGISTRY = load_registry(REGISTRY_FILE)
SEED = 7
KEY = "dashboards-test-key"
# chat: three of each weekday, so the staffing forecast of an open queue has a week of history
# that is not a public holiday (two same weekdays in a row can be: 25.12. and 1.1.)
HISTORY_DAYS = {"chat": 21, "contact": 2, "feedback": 35, "pathway": 60}
SERVICES = ("chat_metrics", "pathway_metrics", "feedback_ingest", "contact_metrics")
STREAM_OF = {
    "chat_metrics": CHAT,
    "pathway_metrics": PATHWAY,
    "feedback_ingest": FEEDBACK,
    "contact_metrics": CONTACT,
}
RATE_INTERVAL = "1m"
# (dashboard file, panel title) → why it may be empty at a given moment. Such a panel's queries
# must still run without error. None is needed: the data above covers every panel.
NOT_CHECKED_FOR_DATA: dict[tuple[str, str], str] = {}
# customer-feedback.json's panels of the national feedback model's statements
STATEMENT_TABLE = "Statements: mean answer by unit in the time range"
STATEMENT_BARS = "Statements: distribution of answers in the time range"


# --------------------------------------------------------------------------------------------
# The test


async def test_every_query_of_every_dashboard_answers_with_data(
    own_broker: str, database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    prometheus_binary = find_binary(PROMETHEUS_BINARIES)
    assert prometheus_binary, (
        "Prometheus is missing (/usr/bin/prometheus or on PATH): apt-get install prometheus"
    )
    await away_from_midnight()
    started = time.monotonic()
    produced = await produce_history(own_broker)

    processes = {
        name: consumer_service(
            name,
            own_broker,
            database_url,
            REGISTRY_FILE,
            KANAVA_FEEDBACK_REFRESH_SECONDS="1",
            KANAVA_CONTACT_REFRESH_SECONDS="1",
        )
        for name in SERVICES
    }
    gateway_port = free_port()
    processes["gateway"] = ServiceProcess(
        ["-m", "services.gateway"],
        gateway_port,
        {
            "KANAVA_KAFKA_BOOTSTRAP": own_broker,
            "KANAVA_DATABASE_URL": database_url,
            "KANAVA_GATEWAY_PORT": str(gateway_port),
            "KANAVA_REGISTRY_FILE": str(REGISTRY_FILE),
        },
    )
    targets = {f"kanava-{name}": f"127.0.0.1:{p.port}" for name, p in processes.items()}
    async with running_prometheus(prometheus_binary, targets, tmp_path) as prometheus:
        for process in processes.values():
            process.start()
        try:
            for name in SERVICES:
                await wait_consumed(engine, name, produced[name], within=90)
            history_done = time.monotonic()
            await produce_now(own_broker)
            for name in SERVICES:  # to the end: chat_metrics may have added timeouts
                end = await topic_end(own_broker, STREAM_OF[name].topic)
                await wait_consumed(engine, name, end, within=30)
            await prometheus.wait_for(READY_WHEN, within=40)

            lint = await promtool_check_metrics(processes)
            assert lint == {}, f"promtool check metrics: {lint}"

            report = Report()
            for name in DASHBOARDS:
                for view in ("first", "all"):
                    await check_dashboard(name, view, prometheus, engine, report)
            disagreements = await check_figures_agree(
                prometheus, engine, f"http://127.0.0.1:{gateway_port}"
            )
        finally:
            for process in processes.values():
                process.stop()
    seconds = time.monotonic() - started
    print(
        f"\n{sum(produced.values())} history events ({history_done - started:.0f} s to "
        f"consumed), {report.promql} PromQL and {report.sql} SQL queries "
        f"({report.variables} variable queries) in 2 views of {len(DASHBOARDS)} dashboards, "
        f"{seconds:.0f} s in all"
    )
    assert report.failures == [], "\n\n".join(report.failures)
    assert disagreements == [], "\n".join(disagreements)
    kinds = [
        t["datasource"]["uid"] for n in DASHBOARDS for p in panels(load(n)) for t in p["targets"]
    ]
    assert (report.promql, report.sql) == (2 * kinds.count(PROMETHEUS), 2 * kinds.count(POSTGRES))


# Prometheus has scraped the live events once these all answer: the targets are up, the live
# state, today's service level and the staffing forecast (both refreshed every 15 s, the
# forecast once the history it reads is consumed) and the dead letters are visible.
READY_WHEN = (
    'count(up{job=~"kanava-.*"} == 1) == 5',
    f'sum(kanava_chat_agents_available{{queue="{REGISTRY.queues[0].id}"}}) >= 1',
    f'sum(kanava_chat_waiting{{queue="{REGISTRY.queues[0].id}"}}) >= 1',
    f'max(kanava_chat_service_level_ratio{{queue="{REGISTRY.queues[0].id}"}}) > 0',
    f'max(kanava_chat_professionals_advised{{queue="{REGISTRY.queues[0].id}"}}) >= 0',
    f'max(kanava_chat_forecast_offered{{queue="{REGISTRY.queues[0].id}"}}) >= 0',
    f'max(kanava_digital_contact_share{{unit="{REGISTRY.queues[0].unit}", window="today"}}) > 0',
    'count(sum by (service) (kanava_consumer_events_total{outcome="dead_lettered"}) >= 1) == 4',
    'count(sum by (service) (kanava_consumer_events_total{outcome="duplicate"}) >= 1) == 4',
)


# --------------------------------------------------------------------------------------------
# Data: the simulator's history, then a few events of the moment


async def away_from_midnight() -> None:
    """The events of now must fall on the day the services call today until the queries
    ran: near local midnight, wait until 00:03 (at most 5 minutes, in 0.4 % of the runs)."""
    now = datetime.now(TZ)
    minute_of_day = now.hour * 60 + now.minute
    if minute_of_day >= 23 * 60 + 58 or minute_of_day < 3:
        midnight = datetime.combine((now + timedelta(hours=1)).date(), datetime.min.time(), TZ)
        await asyncio.sleep((midnight + timedelta(minutes=3) - now).total_seconds())


async def produce_history(bootstrap: str) -> dict[str, int]:
    """The simulator's streams over their HISTORY_DAYS up to now; events per service."""
    now = datetime.now(TZ)

    def since(days: int) -> datetime:
        return datetime.combine(now.date() - timedelta(days=days), datetime.min.time(), TZ)

    producer = new_producer(bootstrap)
    await producer.start()
    try:
        days = HISTORY_DAYS
        return {
            "chat_metrics": await publish_batches(
                producer, CHAT, simulate_chat(REGISTRY, since(days["chat"]), now, SEED, TZ)
            ),
            "contact_metrics": await publish_batches(
                producer,
                CONTACT,
                simulate_contacts(REGISTRY, since(days["contact"]), now, SEED, TZ),
            ),
            "feedback_ingest": await publish_batches(
                producer,
                FEEDBACK,
                simulate_feedback(REGISTRY, since(days["feedback"]), now, SEED, TZ, KEY),
            ),
            "pathway_metrics": await publish_batches(
                producer,
                PATHWAY,
                simulate_pathways(REGISTRY, since(days["pathway"]), now, SEED, TZ),
            ),
        }
    finally:
        await producer.stop()


async def produce_now(bootstrap: str) -> None:
    """Events of the last minutes in the first queue, unit and pathway of the registry, a
    duplicate and a message that is not JSON on every topic."""
    now = datetime.now(TZ)
    queue = REGISTRY.queues[0]
    unit = REGISTRY.unit(queue.unit)
    assert unit is not None
    first_pathway = REGISTRY.pathways[0]

    def ago(seconds: int) -> datetime:
        return now - timedelta(seconds=seconds)

    events: dict[Stream[Envelope], list[Any]] = {
        CHAT: [
            chat(
                "agent.status",
                ago(150),
                agent_id="dash-agent",
                status="available",
                queue_ids=[queue.id],
                capacity=2,
            ),
            chat("chat.started", ago(140), contact_id="dash-c1", entry="bot"),
            chat(
                "chat.queued",
                ago(100),
                "dash-c1-queued",
                contact_id="dash-c1",
                queue_id=queue.id,
                unit_id=unit.id,
                via_bot=True,
            ),
            chat("chat.answered", ago(70), contact_id="dash-c1", queue_id=queue.id),
            chat("chat.started", ago(60), contact_id="dash-c3", entry="bot"),
            chat("chat.bot_resolved", ago(50), contact_id="dash-c3"),
            chat("chat.started", ago(40), contact_id="dash-c2", entry="queue"),
            chat("chat.queued", ago(30), contact_id="dash-c2", queue_id=queue.id),
        ],
        CONTACT: [
            contact("dash-k1", unit.id, "chat", ago(60), service_area=unit.service_area),
            contact("dash-k2", unit.id, "phone", ago(30), service_area=unit.service_area),
        ],
        FEEDBACK: [
            sent(
                "dash-s1",
                hash_recipient("+358401234567", KEY),
                unit.id,
                ago(120),
                service_area=unit.service_area,
                visit_channel="chat",
            ),
            answered("dash-s1", 10, ago(60), comment="Nopea vastaus, kiitos"),
        ],
        PATHWAY: [
            pathway(
                "started",
                "dash-e1",
                ago(120),
                pathway_id=first_pathway.id,
                service_area=first_pathway.service_area,
                unit_id=unit.id,
                start_mode="self",
            ),
            pathway("task_completed", "dash-e1", ago(90), task="kysely"),
            pathway("feedback", "dash-e1", ago(60), thumb="up"),
            pathway("completed", "dash-e1", ago(30)),
        ],
    }
    producer = new_producer(bootstrap)
    await producer.start()
    try:
        for stream, batch in events.items():
            await publish(producer, stream, [*batch, batch[-1]])  # the last one twice
            await publish_raw(producer, stream.topic, [(b"dash", b"{not json", [])])
    finally:
        await producer.stop()


async def topic_end(bootstrap: str, topic: str) -> int:
    """Messages in a topic (sum of its partitions' end offsets)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


# --------------------------------------------------------------------------------------------
# Prometheus


@dataclass
class Prometheus:
    url: str
    client: httpx.AsyncClient

    async def query(self, expr: str) -> tuple[str | None, list[Any]]:
        """(error or None, result) of an instant query now."""
        response = await self.client.get(f"{self.url}/api/v1/query", params={"query": expr})
        body = response.json()
        if response.status_code != 200 or body.get("status") != "success":
            return f"{response.status_code} {body.get('errorType')}: {body.get('error')}", []
        if body["data"]["resultType"] == "scalar":
            return None, [{"metric": {}, "value": body["data"]["result"]}]
        return None, list(body["data"]["result"])

    async def label_values(self, label: str, selector: str) -> list[str]:
        response = await self.client.get(
            f"{self.url}/api/v1/label/{label}/values", params={"match[]": selector}
        )
        response.raise_for_status()
        return sorted(response.json()["data"])

    async def wait_for(self, conditions: Iterable[str], within: float) -> None:
        deadline = time.monotonic() + within
        pending = list(conditions)
        while pending:
            error, result = await self.query(pending[0])
            assert error is None, f"{pending[0]}: {error}"
            if result:
                pending.pop(0)
                continue
            if time.monotonic() > deadline:
                raise AssertionError(f"Prometheus never answered {pending[0]!r} within {within} s")
            await asyncio.sleep(0.5)


@asynccontextmanager
async def running_prometheus(
    binary: str, targets: dict[str, str], tmp_path: Path
) -> AsyncIterator[Prometheus]:
    """A real Prometheus on the project's configuration and rules (copied), scraping every
    second the given targets."""
    rules = tmp_path / "prometheus" / "rules"
    rules.mkdir(parents=True)
    copies = [Path(shutil.copy(path, rules / path.name)) for path in project_rule_files()]
    config = write_yaml(
        tmp_path / "prometheus" / "prometheus.yml",
        prometheus_config(targets, copies, alertmanager=None, scrape_interval="1s"),
    )
    check = await asyncio.to_thread(promtool, "check", "config", str(config))
    assert check.returncode == 0, check.stdout + check.stderr
    port = free_port()
    log = tmp_path / "prometheus" / "prometheus.log"
    process = start_logged(
        prometheus_argv(binary, config, tmp_path / "prometheus" / "data", port), log
    )
    try:
        url = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(wait_ready, process, f"{url}/-/ready", "Prometheus", log)
        async with httpx.AsyncClient(timeout=30) as client:
            yield Prometheus(url, client)
    finally:
        process.terminate()
        process.wait(timeout=30)


def promtool(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: apt-get install prometheus"
    return subprocess.run(
        [tool, *argv], input=stdin, capture_output=True, text=True, check=False, timeout=60
    )


async def promtool_check_metrics(processes: dict[str, ServiceProcess]) -> dict[str, str]:
    """Service → what `promtool check metrics` says of its /metrics text, when not clean."""
    problems = {}
    for name, process in processes.items():
        text = await process.metrics()
        assert "kanava_" in text or name == "gateway", name
        done = await asyncio.to_thread(promtool, "check", "metrics", stdin=text)
        if done.returncode != 0 or done.stdout.strip() or done.stderr.strip():
            problems[name] = (done.stdout + done.stderr).strip()
    return problems


# --------------------------------------------------------------------------------------------
# Grafana's variables, time ranges and macros


@dataclass
class Report:
    promql: int = 0
    sql: int = 0
    variables: int = 0
    failures: list[str] = field(default_factory=list)


def registry_series() -> dict[str, list[dict[str, str]]]:
    """The label sets the services export for the info metrics and their own names, from
    the registry: what label_values() over them must list."""
    units = {u.id: u for u in REGISTRY.units}
    return {
        "kanava_unit_info": [
            {"unit": u.id, "service_area": u.service_area} for u in REGISTRY.units
        ],
        "kanava_chat_queue_info": [
            {"queue": q.id, "unit": q.unit, "service_area": units[q.unit].service_area}
            for q in REGISTRY.queues
        ],
        "kanava_pathway_info": [
            {"pathway": p.id, "service_area": p.service_area} for p in REGISTRY.pathways
        ],
        "kanava_consumer_events_total": [{"service": s} for s in SERVICES],
    }


def registry_order(registry: Registry) -> list[str]:
    return [
        *(a.id for a in registry.service_areas),
        *(u.id for u in registry.units),
        *(q.id for q in registry.queues),
        *(p.id for p in registry.pathways),
    ]


LABEL_VALUES = re.compile(r"label_values\((\w+)(?:\{(.*)\})?, (\w+)\)")
MATCHER = re.compile(r'(\w+)=~"([^"]*)"')


def expected_label_values(query: str) -> list[str]:
    """label_values(metric{label=~"regex", ...}, label) over the registry's series."""
    match = LABEL_VALUES.fullmatch(query)
    assert match, query
    metric, matchers, label = match.groups()
    wanted = MATCHER.findall(matchers or "")
    return sorted(
        {
            series[label]
            for series in registry_series()[metric]
            if all(re.fullmatch(regex, series[key]) for key, regex in wanted)
        }
    )


def months_between(first: date, last: date) -> list[str]:
    month, months = Month.of(first), []
    while month <= Month.of(last):
        months.append(month.label)
        month = month.shift(1)
    return months


def escape_regex(value: str) -> str:
    return re.sub(r"([\\^$.|?*+()\[\]{}])", r"\\\1", value)


def format_value(variable: dict[str, Any], values: list[str], datasource: str) -> str:
    """As Grafana interpolates a variable: a regex alternation for Prometheus and a list of
    quoted literals for SQL when multi-value or All; the plain value otherwise."""
    if not (variable.get("multi") or variable.get("includeAll")):
        (value,) = values
        return value.replace("'", "''") if datasource == POSTGRES else value
    if datasource == POSTGRES:
        return ",".join("'" + v.replace("'", "''") + "'" for v in values)
    escaped = [escape_regex(v) for v in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def substitute_variables(
    text: str, chosen: dict[str, tuple[dict[str, Any], list[str]]], datasource: str
) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in chosen:
            return match.group(0)
        variable, values = chosen[name]
        return format_value(variable, values, datasource)

    return re.sub(r"\$\{(\w+)\}|\$(?!__)(\w+)", replace, text)


RELATIVE = re.compile(r"now(?:-(\d+)([smhdwMy]))?(?:/([smhdwMy]))?")
SPAN = re.compile(r"(\d+)([smhdwMy])")


def shift(moment: datetime, amount: int, unit: str) -> datetime:
    if unit in "smhdw":
        seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]
        return moment - timedelta(seconds=amount * seconds)
    return months_before(moment, amount * (12 if unit == "y" else 1))


def round_to(moment: datetime, unit: str, end: bool) -> datetime:
    """Start (or last millisecond) of the second/minute/…/year of `moment`, weeks from
    Monday, in the dashboard's time zone."""
    start = moment.replace(microsecond=0)
    if unit in "mhdwMy":
        start = start.replace(second=0)
    if unit in "hdwMy":
        start = start.replace(minute=0)
    if unit in "dwMy":
        start = start.replace(hour=0)
    if unit == "w":
        start -= timedelta(days=start.weekday())
    if unit in "My":
        start = start.replace(day=1)
    if unit == "y":
        start = start.replace(month=1)
    if not end:
        return start
    if unit in "My":
        following = shift(start, -1, unit)
    elif unit in "dw":  # the next local midnight, whatever the daylight saving time does
        following = (start + timedelta(days=7 if unit == "w" else 1, hours=2)).replace(hour=0)
    else:
        following = start + timedelta(seconds={"s": 1, "m": 60, "h": 3600}[unit])
    return following - timedelta(milliseconds=1)


def grafana_time(expression: str, now: datetime, end: bool) -> datetime:
    match = RELATIVE.fullmatch(expression)
    assert match, f"unsupported time {expression!r}"
    amount, unit, rounding = match.groups()
    moment = now.astimezone(TZ)
    if amount:
        moment = shift(moment, int(amount), unit)
    if rounding:
        moment = round_to(moment, rounding, end)
    return moment


def time_range(
    dashboard: dict[str, Any], panel: dict[str, Any] | None
) -> tuple[datetime, datetime]:
    now = datetime.now(TZ)
    if panel and panel.get("timeFrom"):
        span = SPAN.fullmatch(panel["timeFrom"])
        assert span, panel["timeFrom"]
        return shift(now, int(span.group(1)), span.group(2)), now
    return (
        grafana_time(dashboard["time"]["from"], now, end=False),
        grafana_time(dashboard["time"]["to"], now, end=True),
    )


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def substitute_macros(text: str, first: datetime, last: datetime, datasource: str) -> str:
    """Grafana's built-in variables and, for SQL, the PostgreSQL data source's macros."""
    seconds = int((last - first).total_seconds())
    text = text.replace("$__rate_interval", RATE_INTERVAL).replace("$__interval", RATE_INTERVAL)
    text = text.replace("$__range", f"{seconds}s")
    if datasource == POSTGRES:
        text = re.sub(
            r"\$__timeFilter\(([^()]*(?:\([^()]*\))?[^()]*)\)",
            lambda m: f"{m.group(1)} BETWEEN '{iso(first)}' AND '{iso(last)}'",
            text,
        )
        text = text.replace("$__timeFrom()", f"'{iso(first)}'")
        text = text.replace("$__timeTo()", f"'{iso(last)}'")
    return text


# --------------------------------------------------------------------------------------------
# One figure, one value


async def check_figures_agree(
    prometheus: Prometheus, engine: AsyncEngine, gateway_url: str
) -> list[str]:
    """Each figure from every place that shows it; the disagreements. NPS is compared over
    the last 30 days and for last month, whose responses are many, so never suppressed."""
    today = datetime.now(TZ).date()
    month, queue, unit = Month.of(today), REGISTRY.queues[0].id, REGISTRY.queues[0].unit
    pathway = REGISTRY.pathways[0].id  # produce_now completes an enrolment of it
    last_month = month.shift(-1)
    sql = Panels(engine)
    async with httpx.AsyncClient(
        base_url=gateway_url, headers=await token(engine), timeout=30
    ) as client:
        api = Api(client, today)
        report, report_before = await api.report(month), await api.report(last_month)
        chat_day = await api.row("/v1/chat/stats", today, today, queue_id=queue)
        chat_month = await api.month("/v1/chat/stats", month, queue_id=queue)
        nps_month = await api.month("/v1/feedback/nps", last_month, unit_id=unit)
        nps_30d = await api.row(
            "/v1/feedback/nps",
            today - timedelta(days=29),
            today,
            unit_id=unit,
            granularity="total",
        )
        statements_30d = await api.rows(
            "/v1/feedback/statements",
            today - timedelta(days=29),
            today,
            unit_id=unit,
            granularity="total",
        )
        share_day = await api.row("/v1/contacts/digital-share", today, today, unit_id=unit)
        share_month = await api.month("/v1/contacts/digital-share", month, unit_id=unit)
        pathway_month = await api.month("/v1/pathways/stats", month, pathway_id=pathway)
    unit_report, unit_before = unit_of(report, unit), unit_of(report_before, unit)
    queue_report = next(q for q in unit_report["queues"] if q["queue_id"] == queue)
    today_only, this_month = since(today), since(month.first)
    queue_day = await sql.row(
        "live-chat-queues.json",
        "Queue figures per day",
        {"queue": [queue]},
        today_only,
        lambda r: r.day == today,
    )
    queue_month = await sql.row(
        "monthly-report.json", "Chat service level by month", {"queue": [queue]}, this_month
    )
    unit_month = await sql.row(
        "monthly-report.json",
        "NPS by unit, $month",
        {"unit": [unit], "month": [last_month.label]},
        this_month,
    )
    unit_30d = await sql.row(
        "customer-feedback.json",
        "NPS by unit in the time range",
        {"unit": [unit]},
        since(today - timedelta(days=29)),
    )
    unit_statements_30d = await sql.rows(
        "customer-feedback.json",
        STATEMENT_TABLE,
        {"unit": [unit]},
        since(today - timedelta(days=29)),
    )
    answer_bars_30d = await sql.rows(
        "customer-feedback.json",
        STATEMENT_BARS,
        {"unit": [unit]},
        since(today - timedelta(days=29)),
    )
    unit_share_day = await sql.row(
        "digital-contact-share.json",
        "Digital share by unit and service area",
        {"unit": [unit]},
        today_only,
    )
    unit_share_month = await sql.row(
        "monthly-report.json", "Digital share by month", {"unit": [unit]}, this_month
    )
    completion = await sql.row(
        "digital-care-pathways.json", "Completion rate", {"pathway": [pathway]}, this_month
    )
    pathway_report = next(
        p
        for area in report["service_areas"]
        for p in area["pathways"]
        if p["pathway_id"] == pathway
    )
    figures = {
        "service level today": [
            chat_day["service_level"],
            queue_day.service_level,
            await gauge(
                prometheus,
                f'kanava_chat_service_level_ratio{{queue="{queue}"}}',
                chat_day["service_level"],
            ),
        ],
        "service level this month": [
            chat_month["service_level"],
            queue_report["chat"]["month"]["service_level"],
            queue_month.chat_service_level,
        ],
        **{
            f"{figure} last month": [
                nps_month[figure],
                unit_before["nps"]["month"][figure],
                getattr(unit_month, figure),
            ]
            for figure in ("nps", "ci95_lower", "ci95_upper", "response_rate")
        },
        **{
            f"{figure} over 30 days": [
                nps_30d[figure],
                getattr(unit_30d, figure),
                await gauge(
                    prometheus, f'{metric}{{unit="{unit}", window="30d"}}', nps_30d[figure]
                ),
            ]
            for figure, metric in (
                ("nps", "kanava_nps"),
                ("ci95_lower", "kanava_nps_ci95_lower"),
                ("ci95_upper", "kanava_nps_ci95_upper"),
                ("response_rate", "kanava_feedback_response_ratio"),
            )
        },
        "statements (n, mean, answers 1-5) over 30 days": [
            [
                (r["statement"], r["responses"], r["mean"], *r["distribution"].values())
                for r in statements_30d
            ],
            [tuple(r)[1:] for r in unit_statements_30d],  # the unit's: without its id
        ],
        "statement answers 1-5 over 30 days": [
            [(r["statement"], *r["distribution"].values()) for r in statements_30d],
            [tuple(r) for r in answer_bars_30d],
        ],
        "digital share today": [
            share_day["digital_share"],
            unit_share_day.digital_share,
            await gauge(
                prometheus,
                f'kanava_digital_contact_share{{unit="{unit}", window="today"}}',
                share_day["digital_share"],
            ),
        ],
        "digital share this month": [
            share_month["digital_share"],
            unit_report["digital_share"]["month"]["digital_share"],
            unit_share_month.digital_share,
        ],
        "pathway completion rate this month": [
            pathway_month["completion_rate"],
            pathway_report["month"]["completion_rate"],
            completion.completion_rate,
        ],
    }
    return [
        f"{name}: {values} (the API's first)"
        for name, values in figures.items()
        if values[0] in (None, []) or any(v != values[0] for v in values)
    ]


@dataclass
class Api:
    client: httpx.AsyncClient
    today: date

    async def row(self, path: str, first: date, last: date, **params: str) -> dict[str, Any]:
        (row,) = await self.rows(path, first, last, **params)
        return row

    async def rows(self, path: str, first: date, last: date, **params: str) -> list[dict[str, Any]]:
        response = await self.client.get(
            path, params={"from": str(first), "to": str(last), **params}
        )
        assert response.status_code == 200, f"{path}: {response.text}"
        found: list[dict[str, Any]] = response.json()["rows"]
        return found

    async def month(self, path: str, month: Month, **params: str) -> dict[str, Any]:
        last = min(month.last, self.today)
        return await self.row(path, month.first, last, granularity="month", **params)

    async def report(self, month: Month) -> dict[str, Any]:
        response = await self.client.get(f"/v1/reports/monthly/{month.label}")
        assert response.status_code == 200, response.text
        report: dict[str, Any] = response.json()
        return report


def unit_of(report: dict[str, Any], unit: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        u for area in report["service_areas"] for u in area["units"] if u["unit_id"] == unit
    )
    return found


@dataclass
class Panels:
    engine: AsyncEngine

    async def row(
        self,
        dashboard_file: str,
        title: str,
        chosen: dict[str, list[str]],
        span: tuple[datetime, datetime],
        which: Callable[[Any], bool] = lambda row: True,
    ) -> Any:
        """The one row a SQL panel shows for these variables and this time range."""
        (row,) = [r for r in await self.rows(dashboard_file, title, chosen, span) if which(r)]
        return row

    async def rows(
        self,
        dashboard_file: str,
        title: str,
        chosen: dict[str, list[str]],
        span: tuple[datetime, datetime],
    ) -> list[Any]:
        """The rows a SQL panel shows for these variables (a constant's value may be chosen
        too) and this time range."""
        dashboard = load(dashboard_file)
        (panel,) = (p for p in panels(dashboard) if p["title"] == title)
        (target,) = panel["targets"]
        values = {
            v["name"]: (v, chosen.get(v["name"]) or fixed_value(v)) for v in variables(dashboard)
        }
        query = substitute_variables(query_of(target), values, POSTGRES)
        query = substitute_macros(query, *span, POSTGRES)
        assert "$" not in query, query
        return await run_sql(self.engine, query)


def fixed_value(variable: dict[str, Any]) -> list[str]:
    """A constant's or custom variable's value; a query variable must be chosen."""
    if variable["type"] == "constant":
        return [variable["query"]]
    return [variable["current"]["value"]] if variable["type"] == "custom" else ["$unchosen"]


async def gauge(prometheus: Prometheus, selector: str, expected: float | None) -> float | None:
    """The value Prometheus scraped. The gauges are refreshed from PostgreSQL every few
    seconds, so it is awaited (40 s at most) to reach the value the API gives."""
    deadline = time.monotonic() + 40
    while True:
        error, result = await prometheus.query(selector)
        assert error is None, error
        value = float(result[0]["value"][1]) if result else None
        if value == expected or time.monotonic() > deadline:
            return value
        await asyncio.sleep(1)


def since(day: date) -> tuple[datetime, datetime]:
    """From the local midnight starting `day` to now."""
    return datetime(day.year, day.month, day.day, tzinfo=TZ), datetime.now(TZ)


# --------------------------------------------------------------------------------------------
# Running the dashboards' queries


async def choose_variables(
    name: str,
    dashboard: dict[str, Any],
    view: str,
    prometheus: Prometheus,
    engine: AsyncEngine,
    report: Report,
) -> dict[str, tuple[dict[str, Any], list[str]]]:
    """Every variable's values, from its own query (checked against the registry), in order:
    the first of the registry's (or the first listed), or all of them."""
    chosen: dict[str, tuple[dict[str, Any], list[str]]] = {}
    first, last = time_range(dashboard, None)
    for variable in variables(dashboard):
        kind = variable["type"]
        if kind == "constant":
            chosen[variable["name"]] = (variable, [variable["query"]])
            continue
        if kind == "custom":
            chosen[variable["name"]] = (variable, [variable["current"]["value"]])
            continue
        datasource = variable["datasource"]["uid"]
        query = substitute_variables(variable_query(variable), chosen, datasource)
        query = substitute_macros(query, first, last, datasource)
        report.variables += 1
        if datasource == PROMETHEUS:
            match = LABEL_VALUES.fullmatch(query)
            assert match, f"{name}: variable {variable['name']}: {query}"
            metric, matchers, label = match.groups()
            listed = await prometheus.label_values(label, f"{metric}{{{matchers or ''}}}")
            expected = expected_label_values(query)
            order = registry_order(REGISTRY)
            pick = [v for v in order if v in listed][:1] or listed[:1]
        else:
            rows = await run_sql(engine, query)
            listed = [str(row[0]) for row in rows]
            # months with data, newest first: this month (the events of now) back to at most
            # the month of the oldest day of history
            today = datetime.now(TZ).date()
            months = months_between(today - timedelta(days=max(HISTORY_DAYS.values())), today)
            expected = [m for m in months[::-1] if m in listed] if len(listed) >= 2 else months
            if listed[:1] != [today.strftime("%Y-%m")]:
                expected = [today.strftime("%Y-%m"), *expected]
            pick = listed[:1]
        if listed != expected:
            report.failures.append(
                f"{name} ({view}): variable {variable['name']} = {listed}, expected {expected}"
            )
        assert listed, f"{name}: variable {variable['name']} lists nothing: {query}"
        every = view == "all" and variable.get("includeAll")
        chosen[variable["name"]] = (variable, listed if every else pick)
    return chosen


async def check_dashboard(
    name: str, view: str, prometheus: Prometheus, engine: AsyncEngine, report: Report
) -> None:
    dashboard = load(name)
    chosen = await choose_variables(name, dashboard, view, prometheus, engine, report)
    for panel in panels(dashboard):
        first, last = time_range(dashboard, panel)
        for target in panel["targets"]:
            datasource = target["datasource"]["uid"]
            query = substitute_variables(query_of(target), chosen, datasource)
            query = substitute_macros(query, first, last, datasource)
            where = f"{name} ({view}), panel {panel['title']!r}, {target['refId']}"
            if "$" in query:
                report.failures.append(f"{where}: not substituted: {query}")
                continue
            if datasource == PROMETHEUS:
                report.promql += 1
                problem = await check_promql(prometheus, query)
            else:
                report.sql += 1
                problem = await check_sql(engine, query, target["format"])
            excused = NOT_CHECKED_FOR_DATA.get((name, panel["title"]))
            if problem and not (excused and problem.startswith("no data")):
                report.failures.append(f"{where}: {problem}\n{query}")


async def check_promql(prometheus: Prometheus, query: str) -> str | None:
    error, result = await prometheus.query(query)
    if error:
        return f"error {error}"
    if not result:
        return "no data: empty result"
    values = [float(series["value"][1]) for series in result]
    if not any(math.isfinite(v) for v in values):
        return f"no data: no finite value in {result}"
    return None


async def run_sql(engine: AsyncEngine, query: str) -> list[Any]:
    """In a read-only transaction: a dashboard never writes."""
    async with engine.connect() as conn:
        await conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        rows = list(await conn.exec_driver_sql(query))
        await conn.rollback()
    return rows


async def check_sql(engine: AsyncEngine, query: str, fmt: str) -> str | None:
    try:
        rows = await run_sql(engine, query)
    except Exception as exc:
        return f"error {type(exc).__name__}: {exc}"
    if not rows:
        return "no data: no rows"
    columns = list(rows[0]._fields)
    values = [
        value
        for row in rows
        for column, value in zip(columns, row, strict=True)
        if column != "time"
    ]
    if all(value is None for value in values):
        return f"no data: every value NULL in {len(rows)} rows"
    return check_times(rows, columns) if fmt == "time_series" else None


def check_times(rows: list[Any], columns: list[str]) -> str | None:
    if "time" not in columns:
        return "time_series without a time column"
    times = [row.time for row in rows]
    if not all(isinstance(t, datetime) and t.tzinfo is not None for t in times):
        return f"time column is not timestamptz: {times[:3]}"
    if times != sorted(times):
        return "time_series rows not in time order"
    return None
