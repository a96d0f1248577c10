"""`kanava token create|list|revoke` against a real PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.infra import project_root


def kanava(database_url: str, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KANAVA_")}
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "token", *argv],
        env=env | {"KANAVA_DATABASE_URL": database_url},
        cwd=project_root(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_create_list_revoke(engine: AsyncEngine, database_url: str) -> None:
    created = kanava(
        database_url, "create", "--name", "wallboard", "--scope", "read", "--unit", "u1"
    )
    assert created.returncode == 0, created.stderr
    header, token = created.stdout.splitlines()
    token_id = token.split("_")[1]
    assert header == f"token {token_id} (wallboard; read; u1):"

    listed = kanava(database_url, "list")
    assert listed.stdout.startswith(f"{token_id}  wallboard  read  u1  created ")
    assert listed.stdout.rstrip().endswith("active")
    assert token not in listed.stdout

    async with engine.connect() as conn:
        stored = await conn.scalar(text("SELECT api_tokens::text FROM api_tokens"))
    secret = token.split("_", 2)[2]  # the secret itself may hold "_"
    assert secret not in str(stored)

    assert kanava(database_url, "revoke", token_id).stdout == f"token {token_id} revoked\n"
    again = kanava(database_url, "revoke", token_id)
    assert again.returncode == 1
    assert again.stderr == f"kanava token: no active token {token_id}\n"
    assert " revoked " in kanava(database_url, "list").stdout


def test_an_unknown_scope_is_refused_by_the_command_line(database_url: str) -> None:
    refused = kanava(database_url, "create", "--name", "x", "--scope", "write")
    assert refused.returncode == 2
    assert "invalid choice: 'write'" in refused.stderr
