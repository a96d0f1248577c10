"""feedback_ingest: facts per recipient, derived surveys, replies and comments, per-day figures,
suppressions.

A *subject* is whose facts are derived together: the recipient's hash, or ``survey:<id>`` for a
survey sent without a recipient. ``feedback_survey_subjects`` and ``feedback_subjects`` hold one
row per survey and per subject: their row locks serialise the transactions that touch the same
survey or recipient (surveys first, then subjects, each in sorted order, so no deadlock).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
UNIT_MEASURES = ("surveys_sent", "delivery_failed", "promoters", "passives", "detractors")

_UNIT_DAY_FIGURES_VIEW = """
CREATE VIEW feedback_unit_day_figures AS
SELECT day, unit_id, service_area, surveys_sent, delivery_failed,
       promoters + passives + detractors AS responses, promoters, passives, detractors,
       100.0 * (promoters - detractors) / NULLIF(promoters + passives + detractors, 0) AS nps,
       (promoters + passives + detractors)::float8
           / NULLIF(surveys_sent - delivery_failed, 0) AS response_rate
FROM feedback_unit_daily
"""


def _count(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger, nullable=False, server_default="0")


def upgrade() -> None:
    op.create_table(
        "feedback_survey_subjects",
        sa.Column("survey_id", sa.Text, primary_key=True),
        sa.Column("subject", sa.Text),  # NULL until the survey.sent is known
    )
    op.create_table("feedback_subjects", sa.Column("subject", sa.Text, primary_key=True))
    op.create_table(
        "feedback_facts",
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("subject", sa.Text),  # NULL: an answer or failure waiting for its survey.sent
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("time", _TS, nullable=False),
        sa.Column("survey_id", sa.Text),
        sa.Column("unit_id", sa.Text),
        sa.Column("service_area", sa.Text),
        sa.Column("visit_channel", sa.Text),
        sa.Column("text", sa.Text),  # redacted
        sa.Column("reply_outcome", sa.Text),
        sa.Column("reply_score", sa.SmallInteger),
        sa.Column("reply_comment", sa.Text),  # redacted
        sa.Column("reply_note", sa.Text),
        sa.Column("message_id", sa.Text),
        sa.Column("score", sa.SmallInteger),
        sa.Column("comment", sa.Text),  # redacted
        sa.Column("statements", sa.Text),  # JSON [[code, value], ...]
        sa.Column("reason", sa.Text),
    )
    op.create_index("ix_feedback_facts_subject", "feedback_facts", ["subject"])
    op.create_index(
        "ix_feedback_facts_pending",
        "feedback_facts",
        ["survey_id"],
        postgresql_where=sa.text("subject IS NULL"),
    )
    op.create_index(  # what the comment retention still has to clear
        "ix_feedback_facts_texts",
        "feedback_facts",
        ["time"],
        postgresql_where=sa.text("text IS NOT NULL OR comment IS NOT NULL"),
    )
    op.create_table(
        "feedback_survey_results",
        sa.Column("survey_id", sa.Text, primary_key=True),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("unit_id", sa.Text, nullable=False),
        sa.Column("service_area", sa.Text, nullable=False),
        sa.Column("sent_at", _TS, nullable=False),
        sa.Column("sent_day", sa.Date, nullable=False),
        sa.Column("delivered", sa.Boolean, nullable=False),
        sa.Column("score", sa.SmallInteger),
        sa.Column("category", sa.Text),
        sa.Column("scored_at", _TS),
        sa.Column("source", sa.Text),
        sa.Column("statements", sa.Text),
        sa.Column("opt_out_at", _TS),
    )
    op.create_index("ix_feedback_survey_results_subject", "feedback_survey_results", ["subject"])
    op.create_table(
        "feedback_replies",
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("time", _TS, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("survey_id", sa.Text),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_index("ix_feedback_replies_subject", "feedback_replies", ["subject"])
    op.create_index("ix_feedback_replies_outcome_time", "feedback_replies", ["outcome", "time"])
    op.create_table(
        "feedback_comments",
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("survey_id", sa.Text, nullable=False),
        sa.Column("unit_id", sa.Text, nullable=False),
        sa.Column("service_area", sa.Text, nullable=False),
        sa.Column("time", _TS, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("score", sa.SmallInteger),
        sa.Column("text", sa.Text, nullable=False),  # redacted
    )
    op.create_index("ix_feedback_comments_subject", "feedback_comments", ["subject"])
    op.create_index("ix_feedback_comments_time", "feedback_comments", ["time"])
    op.create_table(
        "feedback_unit_daily",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("unit_id", sa.Text, nullable=False),
        sa.Column("service_area", sa.Text, nullable=False),
        *(_count(m) for m in UNIT_MEASURES),
        sa.PrimaryKeyConstraint("day", "unit_id", "service_area", name="pk_feedback_unit_daily"),
    )
    op.create_table(
        "feedback_reply_daily",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        _count("replies"),
        sa.PrimaryKeyConstraint("day", "outcome", name="pk_feedback_reply_daily"),
    )
    op.create_table(
        "feedback_suppressions",
        sa.Column("recipient", sa.Text, primary_key=True),
        sa.Column("since", _TS, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.execute(_UNIT_DAY_FIGURES_VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW feedback_unit_day_figures")
    for table in (
        "feedback_suppressions",
        "feedback_reply_daily",
        "feedback_unit_daily",
        "feedback_comments",
        "feedback_replies",
        "feedback_survey_results",
        "feedback_facts",
        "feedback_subjects",
        "feedback_survey_subjects",
    ):
        op.drop_table(table)
