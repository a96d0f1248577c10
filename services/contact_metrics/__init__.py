"""contact_metrics: all client contacts and the share of digital ones (docs/events.md,
docs/metrics.md)."""
