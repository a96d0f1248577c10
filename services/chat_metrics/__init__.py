"""chat_metrics: live chat queues and exact per-day service-level figures (docs/events.md,
docs/metrics.md)."""
