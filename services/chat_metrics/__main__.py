"""`python -m services.chat_metrics`: the chat_metrics consumer service."""

from __future__ import annotations

import sys
from zoneinfo import ZoneInfo

from prometheus_client import REGISTRY

from services.chat_metrics import repository
from services.chat_metrics.exports import (
    ChatExports,
    LiveCollector,
    publish_queue_info,
    wait_histogram,
)
from services.chat_metrics.queues import QueueRules
from services.chat_metrics.service import ChatMetrics
from services.common.consumer import ConsumerApp
from services.common.events import CHAT
from services.common.metrics import publish_unit_info
from services.common.registry import load_registry
from services.common.service import run_service
from services.common.settings import get_settings


def main() -> int:
    settings = get_settings()
    registry = load_registry(settings.registry_file)
    rules = QueueRules(registry, ZoneInfo(settings.timezone))
    domain = ChatMetrics(rules, ChatExports(wait_histogram(rules.all_thresholds())))
    publish_queue_info(registry)
    publish_unit_info(registry)
    REGISTRY.register(
        LiveCollector(domain.live, rules, lambda: domain.service_levels, lambda: domain.staffing)
    )
    app = ConsumerApp(
        "chat_metrics",
        CHAT,
        domain,
        domain.tasks(CHAT, settings.chat_timeout_sweep_seconds, 15),
        stories=repository.STORIES,
    )
    return run_service(app, settings)


if __name__ == "__main__":
    sys.exit(main())
