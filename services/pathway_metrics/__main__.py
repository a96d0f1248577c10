"""`python -m services.pathway_metrics`: the pathway_metrics consumer service."""

from __future__ import annotations

import sys
from zoneinfo import ZoneInfo

from prometheus_client import REGISTRY

from services.common.consumer import ConsumerApp
from services.common.events import PATHWAY
from services.common.metrics import publish_unit_info
from services.common.registry import load_registry
from services.common.service import run_service
from services.common.settings import get_settings
from services.pathway_metrics import repository
from services.pathway_metrics.exports import ActiveCollector, publish_pathway_info
from services.pathway_metrics.service import PathwayMetrics


def main() -> int:
    settings = get_settings()
    registry = load_registry(settings.registry_file)
    domain = PathwayMetrics(registry, ZoneInfo(settings.timezone))
    publish_unit_info(registry)
    publish_pathway_info(registry)
    known = [p.id for p in registry.pathways]
    REGISTRY.register(ActiveCollector(lambda: domain.active, known))
    app = ConsumerApp("pathway_metrics", PATHWAY, domain, stories=repository.STORIES)
    return run_service(app, settings)


if __name__ == "__main__":
    sys.exit(main())
