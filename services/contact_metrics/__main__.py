"""`python -m services.contact_metrics`: the contact_metrics consumer service."""

from __future__ import annotations

import sys
from zoneinfo import ZoneInfo

from prometheus_client import REGISTRY

from services.common.consumer import ConsumerApp
from services.common.events import CONTACT
from services.common.metrics import publish_unit_info
from services.common.registry import load_registry
from services.common.service import run_service
from services.common.settings import get_settings
from services.contact_metrics import repository
from services.contact_metrics.exports import ShareCollector
from services.contact_metrics.service import ContactMetrics


def main() -> int:
    settings = get_settings()
    registry = load_registry(settings.registry_file)
    domain = ContactMetrics(registry, ZoneInfo(settings.timezone), settings.digital_channels)
    publish_unit_info(registry)
    REGISTRY.register(ShareCollector(lambda: domain.shares, settings.digital_channels))
    tasks = domain.tasks(settings.contact_refresh_seconds)
    app = ConsumerApp("contact_metrics", CONTACT, domain, tasks, stories=repository.STORIES)
    return run_service(app, settings)


if __name__ == "__main__":
    sys.exit(main())
