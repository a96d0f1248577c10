"""pathway_metrics: digital care pathway starts, progress and endings (docs/events.md,
docs/metrics.md)."""
