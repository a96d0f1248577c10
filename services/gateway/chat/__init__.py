"""Chat queues now and chat statistics over a range (SPEC §7)."""
