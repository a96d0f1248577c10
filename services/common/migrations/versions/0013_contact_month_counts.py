"""contact_metrics: contacts counted per unit, channel and month elsewhere (`contact.month_counted`,
history from before go-live), apart from the recorded contacts; one row per count's natural key,
the latest count in it (docs/events.md, docs/metrics.md).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_month_counts",
        sa.Column("month", sa.Date, nullable=False),  # the month's first day
        sa.Column("unit_id", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("export", sa.Text, nullable=False),
        sa.Column("service_area", sa.Text, nullable=False),
        sa.Column("contacts", sa.BigInteger, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "month", "unit_id", "channel", "export", name="pk_contact_month_counts"
        ),
        sa.CheckConstraint("extract(day FROM month) = 1", name="ck_contact_month_counts_month"),
        sa.CheckConstraint("contacts >= 0", name="ck_contact_month_counts_contacts"),
    )


def downgrade() -> None:
    op.drop_table("contact_month_counts")
