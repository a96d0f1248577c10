"""chat_metrics: contact events, contacts, queue visits, per-day queue and bot figures, agents.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
QUEUE_MEASURES = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "timed_out",
    "transferred_out",
    "answered_within_sl",
    "answered_wait_ms",
    "closed",
    "handle_ms",
    "resolved_true",
    "resolved_known",
    "bot_handovers",
)


_DAY_FIGURES_VIEW = """
CREATE VIEW chat_queue_day_figures AS
SELECT d.queue_id, d.day, d.offered, d.answered, d.abandoned, d.short_abandoned, d.timed_out,
       d.transferred_out, d.answered_within_sl, d.closed, d.resolved_true, d.resolved_known,
       d.bot_handovers,
       d.answered_within_sl::float8
           / NULLIF(d.answered + d.abandoned - d.short_abandoned, 0) AS service_level,
       (d.abandoned - d.short_abandoned)::float8
           / NULLIF(d.answered + d.abandoned - d.short_abandoned, 0) AS abandon_rate,
       d.answered_wait_ms / 1000.0 / NULLIF(d.answered, 0) AS asa_seconds,
       w.wait_p50_seconds, w.wait_p90_seconds,
       d.handle_ms / 1000.0 / NULLIF(d.closed, 0) AS aht_seconds,
       d.resolved_true::float8 / NULLIF(d.resolved_known, 0) AS resolved_rate
FROM chat_queue_daily d
LEFT JOIN (
    SELECT queue_id, ended_day AS day,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY wait_ms) / 1000.0 AS wait_p50_seconds,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY wait_ms) / 1000.0 AS wait_p90_seconds
    FROM chat_visits WHERE outcome = 'answered'
    GROUP BY queue_id, ended_day
) w USING (queue_id, day)
"""


def _count(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger, nullable=False, server_default="0")


def upgrade() -> None:
    op.create_table(
        "chat_contact_events",
        sa.Column("contact_id", sa.Text, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("time", _TS, nullable=False),
        sa.Column("queue_id", sa.Text),
        sa.Column("to_queue_id", sa.Text),
        sa.Column("agent_id", sa.Text),
        sa.Column("entry", sa.Text),
        sa.Column("via_bot", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("reason", sa.Text),
        sa.Column("resolved", sa.Boolean),
        sa.PrimaryKeyConstraint("contact_id", "event_id", name="pk_chat_contact_events"),
    )
    op.create_table(
        "chat_contacts",
        sa.Column("contact_id", sa.Text, primary_key=True),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("entry", sa.Text),
        sa.Column("started_at", _TS),
        sa.Column("bot_resolved_at", _TS),
    )
    op.create_table(
        "chat_visits",
        sa.Column("contact_id", sa.Text, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("queue_id", sa.Text, nullable=False),
        sa.Column("entered_at", _TS, nullable=False),
        sa.Column("entered_day", sa.Date, nullable=False, comment="local day of entered_at"),
        sa.Column("entered_by", sa.Text, nullable=False),
        sa.Column("via_bot", sa.Boolean, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("ended_at", _TS),
        sa.Column("ended_day", sa.Date, comment="local day of ended_at"),
        sa.Column("wait_ms", sa.BigInteger),
        sa.Column("abandon_reason", sa.Text),
        sa.Column("agent_id", sa.Text),
        sa.Column("closed_at", _TS),
        sa.Column("closed_by", sa.Text),
        sa.Column("handle_ms", sa.BigInteger),
        sa.Column("resolved", sa.Boolean),
        sa.Column("service_level_seconds", sa.Integer, nullable=False),
        sa.Column("short_abandon_seconds", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("contact_id", "seq", name="pk_chat_visits"),
    )
    op.create_index("ix_chat_visits_queue_ended", "chat_visits", ["queue_id", "ended_day"])
    op.create_index(
        "ix_chat_visits_open",
        "chat_visits",
        ["partition"],
        postgresql_where=sa.text(
            "outcome = 'waiting' OR (outcome = 'answered' AND closed_at IS NULL)"
        ),
    )
    op.create_table(
        "chat_queue_daily",
        sa.Column("queue_id", sa.Text, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        *(_count(name) for name in QUEUE_MEASURES),
        sa.PrimaryKeyConstraint("queue_id", "day", name="pk_chat_queue_daily"),
    )
    op.create_table(
        "chat_bot_daily",
        sa.Column("day", sa.Date, primary_key=True),
        _count("sessions"),
        _count("resolved"),
    )
    op.execute(_DAY_FIGURES_VIEW)
    op.create_table(
        "chat_agents",
        sa.Column("agent_id", sa.Text, primary_key=True),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("queue_ids", sa.Text, nullable=False, comment="JSON array of queue ids"),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("status_time", _TS, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "chat_agents",
        "chat_bot_daily",
        "chat_queue_daily",
        "chat_visits",
        "chat_contacts",
        "chat_contact_events",
    ):
        op.drop_table(table)
