"""Authenticated ingest of events and the SMS operator webhook (docs/api.md)."""
