"""Running a consumer service as a process: signals, ops endpoints, broker and database."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from datetime import timedelta

from aiokafka.errors import KafkaConnectionError

from services.common.consumer import (
    ConsumerApp,
    E,
    R,
    ServiceContext,
    StreamConsumer,
    kafka_consumer,
)
from services.common.db import create_engine
from services.common.guards import check_service_start
from services.common.logs import configure_logging
from services.common.ops_http import PortInUse, bind, ops_app, serve
from services.common.producer import new_producer
from services.common.retention import retention_task
from services.common.settings import Settings, get_settings
from services.common.stalls import StallWatch

log = logging.getLogger(__name__)


def run_service(
    app: ConsumerApp[E, R], settings: Settings | None = None, metrics_port: int | None = None
) -> int:
    """Entry point of a consumer service process; returns the exit code."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    check_service_start(settings, app.service)
    # A batch keeps thousands of small objects alive: with the default thresholds the cyclic
    # collector runs every 700 allocations and doubles the cost of validating an event.
    # Objects alive after start-up are frozen out of collection.
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    port = metrics_port if metrics_port is not None else settings.metrics_port(app.service)
    try:
        asyncio.run(_main(app, settings, port))
    except PortInUse as exc:
        print(f"{app.service}: {exc}", file=sys.stderr)
        return 2
    except KafkaConnectionError as exc:
        print(
            f"{app.service}: cannot reach Kafka at {settings.bootstrap()}: {exc}", file=sys.stderr
        )
        return 2
    return 0


async def _main(app: ConsumerApp[E, R], settings: Settings, port: int) -> None:
    sock = bind(port)
    stop = asyncio.Event()
    _install_signal_handlers(stop)
    async with contextlib.AsyncExitStack() as resources:
        engine = create_engine(settings.require_database_url())
        resources.push_async_callback(engine.dispose)
        producer = new_producer(settings.bootstrap())
        resources.push_async_callback(producer.stop)
        await producer.start()
        kafka = kafka_consumer(
            settings.bootstrap(),
            app.service,
            session_timeout_ms=settings.session_timeout_ms,
            heartbeat_interval_ms=settings.heartbeat_interval_ms,
        )
        consumer = StreamConsumer(
            app,
            engine,
            producer,
            kafka,
            max_records=settings.batch_max_records,
            wait_ms=settings.batch_wait_ms,
            max_future=timedelta(seconds=settings.max_future_seconds),
            stalls=StallWatch(app.service, max_delay=settings.stall_retry_max_seconds),
            lanes=settings.consumer_lanes,
        )

        http = asyncio.create_task(serve(ops_app(consumer.health), sock, stop))
        context = ServiceContext(engine, producer)
        retention = retention_task(
            app,
            settings.dedupe_horizon_days,
            settings.history_months,
            settings.retention_interval_seconds,
        )
        tasks = [asyncio.create_task(task(context, stop)) for task in (*app.tasks, retention)]
        try:
            log.info("%s: consuming %s, metrics on :%d", app.service, app.stream.topic, port)
            await consumer.run(stop)
        finally:
            stop.set()
            await asyncio.gather(http, *tasks)


def _install_signal_handlers(stop: asyncio.Event) -> None:
    """First signal: finish the batch in flight and stop. Second: abandon it (rolled back)."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()

    def on_signal() -> None:
        if stop.is_set() and main is not None:
            main.cancel()
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
