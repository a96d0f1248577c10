"""`kanava simulate`: realistic chat events into Kafka, a backfill of past days, then real time."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Coroutine, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiokafka.errors import KafkaConnectionError, KafkaError

from services.common.producer import new_producer
from services.common.registry import Registry, load_registry
from services.common.settings import get_settings
from services.simulator.run import backfill, run_realtime


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="produce simulated chat events: a backfill of past days, then real time",
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


def handle(args: argparse.Namespace) -> int:
    settings = get_settings()
    try:
        registry = load_registry(settings.registry_file)
    except ValueError as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(simulate(args, settings.bootstrap(), registry, ZoneInfo(settings.timezone)))


async def simulate(
    args: argparse.Namespace, bootstrap: str, registry: Registry, tz: ZoneInfo
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
        if args.backfill_days:
            continue_from = datetime.now(tz)
            work = backfill(producer, registry, tz, args.backfill_days, args.seed, continue_from)
            sent = await unless_stopped(work, stop)
            if sent is None:
                print("simulator: stopped during the backfill", flush=True)
                return 0
            days = f"{args.backfill_days} day{'s' if args.backfill_days != 1 else ''}"
            print(f"simulator: backfilled {sent} chat events ({days})", flush=True)
        if args.realtime and not stop.is_set():
            print(
                f"simulator: real-time chat events at {args.speed:g}x speed; Ctrl-C stops",
                flush=True,
            )
            sent = await run_realtime(
                producer, registry, tz, args.seed, args.speed, stop, start=continue_from
            )
            print(f"simulator: stopped after {sent} real-time chat events", flush=True)
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


async def unless_stopped(work: Coroutine[Any, Any, int], stop: asyncio.Event) -> int | None:
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
