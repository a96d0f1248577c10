"""Grafana reads PostgreSQL as kanava_grafana_reader: SELECT on the tables and views its
dashboards query, nothing else (never api_tokens, never a write).

The role is created NOLOGIN; the deployment lets it log in with its own password
(docker-compose.yml: the grafana_reader step). A migrating role that may not create roles (a
managed PostgreSQL) skips the role with a warning instead of failing: an administrator creates it
beforehand and the grants follow here, or runs the warning's statements afterwards.

Grants name the tables one by one, no ALTER DEFAULT PRIVILEGES: a table added later is readable
by Grafana only when its migration says so, so a new table of secrets never leaks by default.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from services.common import grafana_reader
from services.common.grafana_reader import READER

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Every relation a SQL panel or variable of dashboards/*.json read at this revision (later
# revisions grant theirs).
DASHBOARD_TABLES = (
    "chat_queue_daily",
    "chat_queue_day_figures",
    "consumer_offsets",
    "contact_daily",
    "contact_digital_channel_sets",
    "feedback_comments",
    "feedback_unit_daily",
    "feedback_unit_day_figures",
    "pathway_daily",
)


def upgrade() -> None:
    bind = op.get_bind()
    grants = [
        f"GRANT CONNECT ON DATABASE {_database(bind)} TO {READER}",
        f"GRANT USAGE ON SCHEMA {_schema(bind)} TO {READER}",
        grafana_reader.select_on(DASHBOARD_TABLES),
    ]
    grafana_reader.grant(bind, grants, create=True)


def downgrade() -> None:
    # The role stays: it is the server's, and other databases on it may grant it too.
    bind = op.get_bind()
    if grafana_reader.exists(bind):
        op.execute(f"REVOKE SELECT ON {', '.join(DASHBOARD_TABLES)} FROM {READER}")
        op.execute(f"REVOKE USAGE ON SCHEMA {_schema(bind)} FROM {READER}")
        op.execute(f"REVOKE CONNECT ON DATABASE {_database(bind)} FROM {READER}")


def _database(bind: sa.Connection) -> str:
    return _quoted(bind, "SELECT current_database()")


def _schema(bind: sa.Connection) -> str:
    return _quoted(bind, "SELECT current_schema()")


def _quoted(bind: sa.Connection, query: str) -> str:
    name: str = bind.scalar(sa.text(query))
    return bind.dialect.identifier_preparer.quote(name)
