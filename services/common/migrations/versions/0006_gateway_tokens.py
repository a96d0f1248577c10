"""gateway: API tokens, stored as SHA-256 of their secret part.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_TEXTS = postgresql.ARRAY(sa.Text)


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("secret_sha256", sa.Text, nullable=False),
        sa.Column("scopes", _TEXTS, nullable=False),
        sa.Column("units", _TEXTS, nullable=False, server_default="{}"),
        sa.Column("service_areas", _TEXTS, nullable=False, server_default="{}"),
        sa.Column("created_at", _TS, nullable=False, server_default=sa.func.now()),
        sa.Column("revoked_at", _TS),
    )


def downgrade() -> None:
    op.drop_table("api_tokens")
