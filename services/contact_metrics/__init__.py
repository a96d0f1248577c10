"""contact_metrics: all client contacts and the share of digital ones (SPEC §3.4, §4)."""
