"""`python -m services.gateway`: the gateway on KANAVA_GATEWAY_PORT."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from aiokafka.errors import KafkaConnectionError

from services.common.db import create_engine, migrate
from services.common.guards import check_gateway_start
from services.common.logs import configure_logging
from services.common.ops_http import PortInUse, bind, serve
from services.common.producer import new_producer
from services.common.registry import load_registry
from services.common.settings import Settings, get_settings
from services.gateway.app import create_app
from services.gateway.context import GatewayContext

log = logging.getLogger(__name__)


def main() -> int:
    settings = get_settings()
    configure_logging(settings.log_level)
    check_gateway_start(settings)
    try:
        asyncio.run(_main(settings))
    except PortInUse as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 2
    except KafkaConnectionError as exc:
        print(f"gateway: cannot reach Kafka at {settings.bootstrap()}: {exc}", file=sys.stderr)
        return 2
    return 0


async def _main(settings: Settings) -> None:
    sock = bind(settings.gateway_port)
    url = settings.require_database_url()
    await asyncio.to_thread(migrate, url)
    engine = create_engine(url, pool_size=8)
    producer = new_producer(settings.bootstrap())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await producer.start()
        ctx = GatewayContext(settings, load_registry(settings.registry_file), engine, producer)
        log.info("gateway on :%d", settings.gateway_port)
        await serve(create_app(ctx), sock, stop)
    finally:
        await producer.stop()
        await engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
