"""Chat queues now and chat statistics over a range (docs/api.md)."""
