"""`python -m services.feedback_ingest`: the feedback_ingest consumer service."""

from __future__ import annotations

import sys
from datetime import timedelta
from zoneinfo import ZoneInfo

from prometheus_client import REGISTRY

from services.common.consumer import ConsumerApp
from services.common.events import FEEDBACK
from services.common.metrics import publish_unit_info
from services.common.redaction import redact_message
from services.common.registry import load_registry
from services.common.service import run_service
from services.common.settings import get_settings
from services.feedback_ingest import repository
from services.feedback_ingest.exports import Thresholds, WindowCollector
from services.feedback_ingest.service import FeedbackIngest, Retention


def main() -> int:
    settings = get_settings()
    registry = load_registry(settings.registry_file)
    window = timedelta(days=settings.feedback_response_window_days)
    domain = FeedbackIngest(registry, ZoneInfo(settings.timezone), window)
    publish_unit_info(registry)
    thresholds = Thresholds(settings.min_responses, settings.min_alert_responses)
    REGISTRY.register(WindowCollector(lambda: domain.windows, registry, thresholds))
    retention = Retention(
        settings.unmatched_reply_retention_days, settings.comment_retention_months
    )
    tasks = domain.tasks(
        settings.feedback_refresh_seconds, retention, settings.retention_interval_seconds
    )
    app = ConsumerApp(
        "feedback_ingest",
        FEEDBACK,
        domain,
        tasks,
        scrub=redact_message,
        stories=repository.STORIES,
    )
    return run_service(app, settings)


if __name__ == "__main__":
    sys.exit(main())
