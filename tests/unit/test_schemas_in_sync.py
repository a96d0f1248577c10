"""The JSON Schema files producers use are exactly what the code validates."""

from __future__ import annotations

import json

from services.cli import SCHEMA_DIR, schema_files


def test_schema_files_match_the_event_models() -> None:
    expected = schema_files()
    on_disk = {path.name: path.read_text(encoding="utf-8") for path in SCHEMA_DIR.glob("*.json")}
    assert on_disk == expected, "run `kanava schemas` and commit infra/schemas/"


def test_chat_schema_names_every_chat_event_type() -> None:
    schema = json.loads(schema_files()["chat.events.schema.json"])
    assert sorted(schema["discriminator"]["mapping"]) == [
        "agent.status",
        "chat.abandoned",
        "chat.answered",
        "chat.bot_resolved",
        "chat.closed",
        "chat.queued",
        "chat.started",
        "chat.transferred",
    ]
