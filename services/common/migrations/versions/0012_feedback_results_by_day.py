"""feedback_survey_results by the day the survey was sent: the statements of the national
feedback model and the answers' export read a range of days (docs/api.md).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_feedback_survey_results_sent_day", "feedback_survey_results", ["sent_day"])


def downgrade() -> None:
    op.drop_index("ix_feedback_survey_results_sent_day", "feedback_survey_results")
