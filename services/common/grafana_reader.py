"""Grafana's read-only role in PostgreSQL, as the migrations give it its grants (0008 creates
it; a later revision that adds a relation a dashboard reads grants it there, by name).

A migrating role that may not create roles (a managed PostgreSQL) leaves the role to an
administrator: each such revision logs one warning with the statements to run, in order, after
the migration."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa

READER = "kanava_grafana_reader"
CREATE_BY_HAND = f"CREATE ROLE {READER} LOGIN PASSWORD '…'"

log = logging.getLogger("kanava.migrations")

# Tolerates a role made meanwhile by the migration of another database on the same server.
_CREATE = f"""
DO $$
BEGIN
    CREATE ROLE {READER} NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$
"""
_MAY_CREATE_ROLES = "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"


def grant(bind: sa.Connection, statements: Sequence[str], create: bool = False) -> None:
    """Run the grants to the reader. Without the role: create it first when `create` and the
    migrating role may, else log what an administrator runs (`CREATE_BY_HAND` too when
    `create`)."""
    if not exists(bind):
        if not (create and bool(bind.scalar(sa.text(_MAY_CREATE_ROLES)))):
            log.warning(
                "role %s not created: the migrating role may not create roles. As an "
                "administrator run: %s",
                READER,
                "; ".join([*([CREATE_BY_HAND] if create else []), *statements]),
            )
            return
        bind.execute(sa.text(_CREATE))
    for statement in statements:
        bind.execute(sa.text(statement))


def select_on(relations: Sequence[str]) -> str:
    return f"GRANT SELECT ON {', '.join(relations)} TO {READER}"


def exists(bind: sa.Connection) -> bool:
    found = bind.scalar(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": READER})
    return found is not None
