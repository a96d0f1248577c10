"""feedback_statement_answers: each answer to a statement of the national feedback model, one
row each, by the day the survey was sent, with its unit and service area and nothing else (no
survey, no recipient, no time of day). The gateway's statements and answers export read it, and
Grafana's reader may: feedback_survey_results itself, which holds the recipient's hash, stays
unreadable to Grafana.

A view runs with its owner's rights, so SELECT on it is all the reader needs.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08
"""

from alembic import op

from services.common import grafana_reader

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

VIEW = "feedback_statement_answers"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE VIEW {VIEW} AS
        SELECT r.sent_day AS day, r.unit_id, r.service_area, e.pair ->> 0 AS statement,
               (e.pair ->> 1)::int AS value
        FROM feedback_survey_results r
        CROSS JOIN LATERAL jsonb_array_elements(r.statements::jsonb) AS e(pair)
        WHERE r.statements IS NOT NULL
        """
    )
    grafana_reader.grant(op.get_bind(), [grafana_reader.select_on([VIEW])])


def downgrade() -> None:
    op.execute(f"DROP VIEW {VIEW}")
