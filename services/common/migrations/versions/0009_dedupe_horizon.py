"""Bounded dedupe: applied event ids partitioned by month of event time, a dedupe floor, and
the newest event time seen per consumed partition.

Events older than the floor are never claimed (they count as `too_old`), so dropping the
month partitions below the floor can never let a duplicate count twice. A partition per month
is created ahead of time by the services' retention task; the default partition takes event
times that have none (history older than the first month created), and a month created later
moves its rows out of it. See docs/operations.md, "Retention".

Rows applied before this revision keep their id; their event time is not known, so their
applied time stands in for it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)

# Creates the partition of one UTC month unless it exists, moving that month's rows out of the
# default partition first (ATTACH refuses a range the default partition still holds).
_MONTH_PARTITION = """
CREATE FUNCTION kanava_applied_events_month(month date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    first timestamptz := date_trunc('month', month::timestamp) AT TIME ZONE 'UTC';
    after timestamptz := (date_trunc('month', month::timestamp) + interval '1 month')
        AT TIME ZONE 'UTC';
    name text := 'applied_events_' || to_char(month, 'YYYY_MM');
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    LOCK TABLE applied_events_default IN SHARE ROW EXCLUSIVE MODE;
    EXECUTE format('CREATE TABLE %I (LIKE applied_events INCLUDING DEFAULTS)', name);
    EXECUTE format(
        'WITH moved AS (DELETE FROM applied_events_default '
        'WHERE event_time >= $1 AND event_time < $2 RETURNING *) '
        'INSERT INTO %I SELECT * FROM moved', name
    ) USING first, after;
    EXECUTE format(
        'ALTER TABLE applied_events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
        name, first, after
    );
    RETURN true;
END
$$
"""


def upgrade() -> None:
    op.add_column("consumer_offsets", sa.Column("max_event_time", _TS))
    op.create_table(
        "dedupe_floor",
        sa.Column("singleton", sa.Boolean, primary_key=True, server_default=sa.true()),
        sa.Column("floor", _TS, nullable=False, server_default=sa.text("'2000-01-01 00:00:00+00'")),
        sa.CheckConstraint("singleton", name="ck_dedupe_floor_singleton"),
    )
    op.execute("INSERT INTO dedupe_floor DEFAULT VALUES")
    op.execute("ALTER TABLE applied_events RENAME TO applied_events_before_0009")
    op.execute("ALTER INDEX pk_applied_events RENAME TO pk_applied_events_before_0009")
    op.execute(
        """
        CREATE TABLE applied_events (
            consumer_group text NOT NULL,
            event_id text NOT NULL,
            event_time timestamptz NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_applied_events PRIMARY KEY (consumer_group, event_id, event_time)
        ) PARTITION BY RANGE (event_time)
        """
    )
    op.execute("CREATE TABLE applied_events_default PARTITION OF applied_events DEFAULT")
    op.execute(
        """
        INSERT INTO applied_events (consumer_group, event_id, event_time, applied_at)
        SELECT consumer_group, event_id, applied_at, applied_at FROM applied_events_before_0009
        """
    )
    op.execute("DROP TABLE applied_events_before_0009")
    op.execute(_MONTH_PARTITION)
    op.execute(
        "SELECT kanava_applied_events_month((now() AT TIME ZONE 'UTC')::date), "
        "kanava_applied_events_month(((now() AT TIME ZONE 'UTC') + interval '1 month')::date)"
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION kanava_applied_events_month(date)")
    op.execute("ALTER TABLE applied_events RENAME TO applied_events_partitioned")
    op.execute("ALTER INDEX pk_applied_events RENAME TO pk_applied_events_partitioned")
    op.create_table(
        "applied_events",
        sa.Column("consumer_group", sa.Text, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("applied_at", _TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("consumer_group", "event_id", name="pk_applied_events"),
    )
    op.execute(
        """
        INSERT INTO applied_events (consumer_group, event_id, applied_at)
        SELECT consumer_group, event_id, min(applied_at) FROM applied_events_partitioned
        GROUP BY consumer_group, event_id
        """
    )
    op.execute("DROP TABLE applied_events_partitioned")
    op.drop_table("dedupe_floor")
    op.drop_column("consumer_offsets", "max_event_time")
