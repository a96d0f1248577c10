"""chat_metrics: live chat queues and exact per-day service-level figures (SPEC §3.1, §4, §6)."""
