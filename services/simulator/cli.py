"""`kanava simulate`: realistic chat, feedback, pathway and contact events into Kafka, a
backfill of past days, then real time."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import re
import signal
import sys
from collections.abc import Coroutine, Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from aiokafka.errors import KafkaConnectionError, KafkaError

from services.common.producer import new_producer
from services.common.registry import Registry, load_registry
from services.common.settings import get_settings
from services.simulator.feedback import Drop
from services.simulator.run import (
    backfill,
    run_realtime,
    run_realtime_contacts,
    run_realtime_feedback,
    run_realtime_pathways,
)

T = TypeVar("T")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="produce simulated chat, feedback, pathway and contact events: a backfill of past "
        "days, then real time",
        description=__doc__,
    )
    parser.add_argument(
        "--backfill-days",
        type=non_negative_int,
        default=7,
        metavar="N",
        help="days of history produced first, 0 for none (default 7)",
    )
    parser.add_argument(
        "--realtime",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="after the backfill, go on in real time until Ctrl-C (default)",
    )
    parser.add_argument(
        "--speed",
        type=positive_float,
        default=1.0,
        metavar="F",
        help="simulated time runs F times faster than real time (default 1)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=1,
        metavar="N",
        help="the same seed gives the same events (default 1)",
    )
    parser.add_argument(
        "--nps-drop",
        type=nps_drop,
        metavar="UNIT:DAY[:DELTA]",
        help="the unit's target NPS changes by DELTA points (default -30) for the visits from "
        "DAY on: a local date YYYY-MM-DD or a number of days from today (-3: three days ago)",
    )
    parser.set_defaults(handler=handle)


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def nps_drop(text: str) -> Drop:
    """The value of --nps-drop, checked against the registry's units."""
    settings = get_settings()
    try:
        registry = load_registry(settings.registry_file)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"cannot read the registry: {exc}") from None
    return parse_drop(text, registry, datetime.now(ZoneInfo(settings.timezone)).date())


def parse_drop(text: str, registry: Registry, today: date) -> Drop:
    """UNIT:DAY[:DELTA] as a `Drop`; DAY is a date YYYY-MM-DD or an offset in days from
    `today`, DELTA a number of NPS points (default -30)."""
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise argparse.ArgumentTypeError(f"expected UNIT:DAY[:DELTA], not {text!r}")
    unit, day = parts[0], parts[1]
    if registry.unit(unit) is None:
        known = ", ".join(u.id for u in registry.units) or "none"
        raise argparse.ArgumentTypeError(f"unknown unit {unit!r}; the WheelQ units are: {known}")
    try:
        if re.fullmatch(r"[+-]?\d+", day):
            from_day = today + timedelta(days=int(day))
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
            from_day = date.fromisoformat(day)
        else:
            raise ValueError(day)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(
            f"DAY must be a date YYYY-MM-DD or a number of days from today, not {day!r}"
        ) from None
    if len(parts) == 2:
        return Drop(unit, from_day)
    try:
        delta = float(parts[2])
    except ValueError:
        delta = math.nan
    if not math.isfinite(delta):
        raise argparse.ArgumentTypeError(f"DELTA must be a number of NPS points, not {parts[2]!r}")
    return Drop(unit, from_day, delta)


def handle(args: argparse.Namespace) -> int:
    settings = get_settings()
    try:
        registry = load_registry(settings.registry_file)
    except ValueError as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 2
    key = settings.phone_hash_key.get_secret_value()
    tz = ZoneInfo(settings.timezone)
    return asyncio.run(simulate(args, settings.bootstrap(), registry, tz, key))


async def simulate(
    args: argparse.Namespace, bootstrap: str, registry: Registry, tz: ZoneInfo, key: str
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    producer = new_producer(bootstrap)
    try:
        with quiet(logging.getLogger("aiokafka")):
            await producer.start()
    except (KafkaConnectionError, ValueError) as exc:
        await producer.stop()
        problem = "cannot reach" if isinstance(exc, KafkaConnectionError) else "bad address of"
        print(
            f"simulator: {problem} the Kafka broker at {bootstrap} (KANAVA_KAFKA_BOOTSTRAP)",
            file=sys.stderr,
        )
        return 2
    try:
        continue_from: datetime | None = None
        drop: Drop | None = args.nps_drop
        if args.backfill_days:
            continue_from = datetime.now(tz)
            days = args.backfill_days
            work = backfill(
                producer, registry, tz, days, args.seed, continue_from, key=key, drop=drop
            )
            backfilled = await unless_stopped(work, stop)
            if backfilled is None:
                print("simulator: stopped during the backfill", flush=True)
                return 0
            print(
                f"simulator: backfilled {backfilled.chat} chat, {backfilled.feedback} feedback, "
                f"{backfilled.pathway} pathway and {backfilled.contact} contact events "
                f"({days} day{'s' if days != 1 else ''})",
                flush=True,
            )
        if args.realtime and not stop.is_set():
            print(
                "simulator: real-time chat, feedback, pathway and contact events at "
                f"{args.speed:g}x speed; Ctrl-C stops",
                flush=True,
            )
            common = (producer, registry, tz, args.seed, args.speed, stop)
            chat, feedback, pathway, contact = await together(
                [
                    run_realtime(*common, start=continue_from),
                    run_realtime_feedback(*common, key=key, drop=drop, start=continue_from),
                    run_realtime_pathways(*common, start=continue_from),
                    run_realtime_contacts(*common, start=continue_from),
                ]
            )
            print(
                f"simulator: stopped after {chat} chat, {feedback} feedback, {pathway} pathway "
                f"and {contact} contact real-time events",
                flush=True,
            )
    except KafkaError as exc:
        print(f"simulator: producing to {bootstrap} failed: {exc}", file=sys.stderr)
        return 1
    finally:
        await producer.stop()
    return 0


@contextlib.contextmanager
def quiet(logger: logging.Logger) -> Iterator[None]:
    """Silence a library's own report of the error that is about to be reported in one line."""
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


async def unless_stopped(work: Coroutine[Any, Any, T], stop: asyncio.Event) -> T | None:
    """The result of `work`, or None when `stop` was set first (`work` is then cancelled)."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return None


async def together(works: Sequence[Coroutine[Any, Any, int]]) -> list[int]:
    """The results of `works` run side by side; the first to fail cancels the others, and its
    exception is raised."""
    tasks = [asyncio.ensure_future(work) for work in works]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in tasks:
        error = None if task.cancelled() else task.exception()
        if error is not None:
            raise error
    return [task.result() for task in tasks]
