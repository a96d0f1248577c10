"""`kanava sample-exports DIR`: a county's history before go-live as the files its systems
export, from the simulator's world: a chat log (Finnish Excel: `;`, Finnish headers), SMS
survey results (phone numbers in clear, as the survey tool has them), care-pathway starts and
the patient records' monthly contact counts by unit and channel, each with the mapping file
(docs/import.md) that `kanava import` reads it with.

Each export is one entry of EXPORTS: its file, header, mapping and rows. The rows fold each
story's simulated events into one row (a chat, a survey, an enrolment), so importing them gives
the figures the simulator would have given, short of what a row cannot say (transfers, bot
conversations, SMS replies as typed).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from services.common.events import (
    PathwayCompleted,
    PathwayDiscontinued,
    PathwayStarted,
    SurveyAnswered,
    SurveyDeliveryFailed,
    SurveySent,
)
from services.common.months import Month, months_before, whole_months
from services.common.registry import Registry, load_registry
from services.common.settings import get_settings
from services.simulator.chat import simulate_chat
from services.simulator.contacts import expected_contacts, plan_of
from services.simulator.feedback import STATEMENTS, numbers_of, simulate_feedback_scored
from services.simulator.pathways import simulate_pathways
from services.simulator.run import SURVEY_LIFETIME

Row = list[str]
CHAT_TIME = "%d.%m.%Y %H.%M.%S"
SURVEY_TIME = "%d.%m.%Y %H:%M:%S"
ENDINGS = ("completed", "discontinued")


@dataclass(frozen=True)
class World:
    """What the exports cover: the simulator's world of `seed` from `start` to `end`."""

    registry: Registry
    start: datetime
    end: datetime
    seed: int
    tz: ZoneInfo
    key: str

    def when(self, moment: datetime, layout: str) -> str:
        return moment.astimezone(self.tz).strftime(layout)


@dataclass(frozen=True)
class Export:
    file: str
    delimiter: str
    header: tuple[str, ...]
    mapping: Callable[[Registry], dict[str, Any]]
    rows: Callable[[World], Iterator[Row]]


def chat_rows(world: World) -> Iterator[Row]:
    """A row per chat that entered a human queue and ended before `end`: its visit of its last
    queue, so a chat answered by triage and moved to another queue is that queue's."""
    names = {q.id: q.name for q in world.registry.queues}
    chats: dict[str, dict[str, Any]] = {}
    for event in simulate_chat(world.registry, world.start, world.end, world.seed, world.tz):
        contact = getattr(event.data, "contact_id", None)
        if contact is None:
            continue
        chat = chats.setdefault(contact, {})
        queue = getattr(event.data, "queue_id", None) or getattr(event.data, "to_queue_id", None)
        if queue:
            chat["queue"] = queue
        if event.type == "chat.transferred":  # a row is its last queue: from when it entered
            chat["chat.queued"] = event.time
            chat.pop("chat.answered", None)
        chat.setdefault(event.type, event.time)
        if event.type in ("chat.closed", "chat.abandoned"):
            del chats[contact]
            if "chat.queued" in chat:
                yield _chat_row(world, contact, names.get(chat["queue"], chat["queue"]), chat)


def _chat_row(world: World, contact: str, queue: str, chat: dict[str, Any]) -> Row:
    def at(kind: str) -> str:
        return world.when(chat[kind], CHAT_TIME) if kind in chat else ""

    ended = at("chat.closed") or at("chat.abandoned")
    abandoned = "kyllä" if "chat.abandoned" in chat else ""
    started, queued, answered = at("chat.started"), at("chat.queued"), at("chat.answered")
    return [contact, queue, started, queued, answered, ended, abandoned]


@dataclass
class Survey:
    sent: SurveySent
    failed: bool = False
    score: int | None = None
    answered: datetime | None = None
    form: SurveyAnswered | None = None


def survey_rows(world: World) -> Iterator[Row]:
    """A row per survey sent, written once its replies are all in (3 days): the first score
    it got, by SMS or the web form, and the web form's statements and comment."""
    numbers = numbers_of(world.registry, world.key)
    units = {u.id: u.name for u in world.registry.units}
    surveys: dict[str, Survey] = {}
    events = simulate_feedback_scored(
        world.registry, world.start, world.end, world.seed, world.tz, world.key
    )
    for event, intent in events:
        if isinstance(event, SurveySent):
            surveys[event.data.survey_id] = Survey(event)
        elif isinstance(event, SurveyDeliveryFailed) and event.data.survey_id in surveys:
            surveys[event.data.survey_id].failed = True
        elif isinstance(event, SurveyAnswered) and event.data.survey_id in surveys:
            surveys[event.data.survey_id].form = event
        if intent and intent.survey_id in surveys and surveys[intent.survey_id].score is None:
            surveys[intent.survey_id].score, surveys[intent.survey_id].answered = (
                intent.score,
                event.time,
            )
        while surveys and event.time - next(iter(surveys.values())).sent.time > SURVEY_LIFETIME:
            yield _survey_row(world, numbers, units, surveys.pop(next(iter(surveys))))
    for survey in surveys.values():
        yield _survey_row(world, numbers, units, survey)


def _survey_row(
    world: World, numbers: dict[str, str], units: dict[str, str], survey: Survey
) -> Row:
    sent, form = survey.sent.data, survey.form
    statements = form.data.statements if form else {}
    answered = survey.answered or (form.time if form else None)
    return [
        sent.survey_id,
        world.when(survey.sent.time, SURVEY_TIME),
        units.get(sent.unit_id, sent.unit_id),
        sent.service_area or "",
        numbers[sent.recipient] if sent.recipient else "",
        "epäonnistui" if survey.failed else "",
        world.when(answered, SURVEY_TIME) if answered else "",
        "" if survey.score is None else str(survey.score),
        *(str(statements.get(code, "")) for code in STATEMENTS),
        (form.data.comment or "") if form else "",
    ]


def pathway_rows(world: World) -> Iterator[Row]:
    """A row per enrolment started in the range, with how it ended by `end`."""
    names = {p.id: p.name for p in world.registry.pathways}
    starts: dict[str, tuple[PathwayStarted, dict[str, datetime]]] = {}
    for event in simulate_pathways(world.registry, world.start, world.end, world.seed, world.tz):
        if isinstance(event, PathwayStarted):
            starts[event.data.enrolment_id] = (event, {})
        elif isinstance(event, PathwayCompleted | PathwayDiscontinued):
            story = starts.get(event.data.enrolment_id)
            if story is not None and not story[1]:  # the first ending ends it
                story[1][event.type.removeprefix("pathway.")] = event.time
    for enrolment, (started, ends) in starts.items():
        data = started.data
        yield [
            enrolment,
            names.get(data.pathway_id, data.pathway_id),
            data.unit_id or "",
            started.time.isoformat(),
            data.start_mode or "",
            "" if data.authenticated is None else str(data.authenticated).lower(),
            *(ends[kind].isoformat() if kind in ends else "" for kind in ENDINGS),
        ]


CONTACT_MONTH = "%m/%Y"
CHANNEL_NAMES = {  # as a patient-record report names the channels
    "in_person": "Vastaanottokäynti",
    "home_visit": "Kotikäynti",
    "phone": "Puhelu",
    "video": "Videovastaanotto",
    "chat": "Chat",
    "message": "Viesti",
    "e_service": "Sähköinen asiointi",
    "pathway": "Digihoitopolku",
    "other": "Muu",
}


def contact_count_rows(world: World) -> Iterator[Row]:
    """A row per unit, channel and whole month of the range: the contacts the simulator
    expects (its daily means summed, split by the unit's channel mix), as a register that
    kept only monthly counts would report them."""
    units = {u.id: u.name for u in world.registry.units}
    for month in _whole_months(world):
        for unit_id, name in units.items():
            counts = expected_by_channel(unit_id, month)
            for channel, count in counts.items():
                if count:
                    yield [
                        name,
                        CHANNEL_NAMES[channel],
                        month.first.strftime(CONTACT_MONTH),
                        str(count),
                    ]


def _whole_months(world: World) -> Iterator[Month]:
    """The months the world's range covers whole, from its first whole day to its last."""
    start, end = world.start.astimezone(world.tz), world.end.astimezone(world.tz)
    first_day = start.date() if start.time() == time() else start.date() + timedelta(days=1)
    first, last = whole_months(first_day, end.date() - timedelta(days=1))
    month = Month.of(first)
    while month.first <= last:
        yield month
        month = month.shift(1)


def expected_by_channel(unit_id: str, month: Month) -> dict[str, int]:
    days = (month.first + timedelta(days=n) for n in range(month.days))
    total = sum(expected_contacts(unit_id, day) for day in days)
    plan = plan_of(unit_id)
    digital = sum(a * d for a, d in zip(plan.profile.ages, plan.digital_by_age, strict=True))
    digital /= sum(plan.profile.ages)
    shares: dict[str, float] = {}
    for mix, part in ((plan.profile.digital, digital), (plan.profile.other, 1 - digital)):
        weights = sum(w for _, w in mix)
        for channel, weight in mix:
            shares[channel] = shares.get(channel, 0.0) + part * weight / weights
    return {channel: round(total * share) for channel, share in shares.items()}


def _names(entries: list[Any]) -> dict[str, str]:
    return {entry.name: entry.id for entry in entries}


EXPORTS = (
    Export(
        "chats.csv",
        ";",
        (
            "Keskustelun tunnus",
            "Jono",
            "Aloitettu",
            "Jonoon",
            "Vastattu",
            "Päättynyt",
            "Keskeytetty",
        ),
        lambda registry: {
            "source": "chat_log",
            "time_format": CHAT_TIME,
            "columns": {
                "chat_id": "Keskustelun tunnus",
                "queue": "Jono",
                "started": "Aloitettu",
                "queued": "Jonoon",
                "answered": "Vastattu",
                "ended": "Päättynyt",
                "abandoned": "Keskeytetty",
            },
            "queues": _names(registry.queues),
        },
        chat_rows,
    ),
    Export(
        "surveys.csv",
        ";",
        (
            "Kyselyn tunnus",
            "Lähetetty",
            "Yksikkö",
            "Palvelualue",
            "Puhelinnumero",
            "Toimitus",
            "Vastattu",
            "Suositteluindeksi",
            *(f"Väittämä {code}" for code in STATEMENTS),
            "Kommentti",
        ),
        lambda registry: {
            "source": "survey_results",
            "time_format": SURVEY_TIME,
            "columns": {
                "survey_id": "Kyselyn tunnus",
                "sent": "Lähetetty",
                "unit": "Yksikkö",
                "service_area": "Palvelualue",
                "recipient": "Puhelinnumero",
                "delivery_failed": "Toimitus",
                "answered": "Vastattu",
                "score": "Suositteluindeksi",
                "comment": "Kommentti",
            },
            "statements": {code: f"Väittämä {code}" for code in STATEMENTS},
            "units": _names(registry.units),
            "yes": ["epäonnistui"],
        },
        survey_rows,
    ),
    Export(
        "pathway-starts.csv",
        ",",
        (
            "enrolment",
            "pathway",
            "unit",
            "started",
            "start_mode",
            "authenticated",
            "completed",
            "discontinued",
        ),
        lambda registry: {
            "source": "pathway_starts",
            "columns": {
                "enrolment_id": "enrolment",
                "pathway": "pathway",
                "unit": "unit",
                "started": "started",
                "start_mode": "start_mode",
                "authenticated": "authenticated",
                "completed": "completed",
                "discontinued": "discontinued",
            },
            "pathways": _names(registry.pathways),
        },
        pathway_rows,
    ),
    Export(
        "contact-counts.csv",
        ";",
        ("Yksikkö", "Yhteystapa", "Kuukausi", "Käyntejä"),
        lambda registry: {
            "source": "contact_counts",
            "month_format": CONTACT_MONTH,
            "columns": {
                "unit": "Yksikkö",
                "channel": "Yhteystapa",
                "month": "Kuukausi",
                "contacts": "Käyntejä",
            },
            "units": _names(registry.units),
            "channels": {name: channel for channel, name in CHANNEL_NAMES.items()},
        },
        contact_count_rows,
    ),
)


def write_exports(directory: Path, world: World) -> dict[Path, int]:
    """Each export and its mapping (`<file>.yaml`) into `directory`: file → rows written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for export in EXPORTS:
        path = directory / export.file
        mapping = {
            **export.mapping(world.registry),
            # not the range's: a later range's rows of the same story keep their event ids
            "name": f"demo-{world.seed}-{path.stem}",
            "delimiter": export.delimiter,
            "timezone": world.tz.key,
        }
        path.with_suffix(".yaml").write_text(
            yaml.safe_dump(mapping, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        with path.open("w", encoding="utf-8-sig", newline="") as file:
            writer = csv.writer(file, delimiter=export.delimiter)
            writer.writerow(export.header)
            written[path] = 0
            for row in export.rows(world):
                writer.writerow(row)
                written[path] += 1
    return written


def history(before: date, months: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """From the same day `months` months before `before` up to `before`'s midnight."""
    end = datetime.combine(before, time(), tz)
    return months_before(end, months), end


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sample-exports",
        help="write a year of simulated county history as export files with their mappings",
        description=__doc__,
    )
    parser.add_argument("directory", type=Path, metavar="DIR")
    parser.add_argument(
        "--months", type=int, default=12, metavar="N", help="months of history (default 12)"
    )
    parser.add_argument(
        "--before",
        type=date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="the history ends at this day's midnight (default today)",
    )
    parser.add_argument("--seed", type=int, default=1, metavar="N")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    settings = get_settings()
    tz = ZoneInfo(settings.timezone)
    try:
        registry = load_registry(settings.registry_file)
    except ValueError as exc:
        print(f"kanava sample-exports: {exc}", file=sys.stderr)
        return 2
    start, end = history(args.before or datetime.now(tz).date(), args.months, tz)
    key = settings.phone_hash_key.get_secret_value()
    world = World(registry, start, end, args.seed, tz, key)
    for path, rows in write_exports(args.directory, world).items():
        print(f"kanava sample-exports: {path} ({rows} rows), {path.with_suffix('.yaml')}")
    return 0
