"""chat_visits by queue and entry time: the staffing forecast counts each queue's entries per
hour over the last weeks (docs/staffing.md#the-forecast).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_chat_visits_queue_entered", "chat_visits", ["queue_id", "entered_at"])


def downgrade() -> None:
    op.drop_index("ix_chat_visits_queue_entered", "chat_visits")
