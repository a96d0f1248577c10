"""Authenticated ingest of events and the SMS operator webhook (SPEC §7)."""
