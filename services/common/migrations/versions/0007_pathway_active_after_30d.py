"""pathway_metrics: the share of enrolments still active 30 days after their start, per pathway
and start day (docs/calibration.md#pathways: "28 starts, 21 still active after a month"). Only
start days at least 30 days back count: for later ones the answer is not known yet.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_VIEW = """
CREATE VIEW pathway_active_after_30d AS
SELECT pathway_id, started_day AS day, count(*) AS starts,
       count(*) FILTER (
           WHERE ended_at IS NULL OR ended_at >= started_at + interval '30 days'
       ) AS active_after_30d
FROM pathway_enrolments
WHERE started_at IS NOT NULL AND started_at <= now() - interval '30 days'
GROUP BY pathway_id, started_day
"""


def upgrade() -> None:
    op.execute(_VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW pathway_active_after_30d")
