"""contact_month_counts_used: the imported monthly contact counts that count, those of a unit's
month without a recorded contact (docs/metrics.md, "Monthly contact counts"). The gateway's
digital share and the monthly-report dashboard both read it, so Grafana shows a year of
imported history as the report does. Grafana's reader may read it (no personal data: unit,
channel, month and a count).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from alembic import op

from services.common import grafana_reader

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

VIEW = "contact_month_counts_used"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE VIEW {VIEW} AS
        SELECT c.month, c.unit_id, c.channel, c.service_area, c.export, c.contacts
        FROM contact_month_counts AS c
        WHERE NOT EXISTS (
            SELECT 1 FROM contact_daily AS d
            WHERE d.unit_id = c.unit_id AND d.contacts > 0
              AND d.day >= c.month AND d.day < (c.month + interval '1 month')::date
        )
        """
    )
    grafana_reader.grant(op.get_bind(), [grafana_reader.select_on([VIEW])])


def downgrade() -> None:
    op.execute(f"DROP VIEW {VIEW}")
