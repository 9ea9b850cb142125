"""Usage-based billing: meters and usage events (time-partitioned).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-21

`usage_events` is partitioned by UTC month on `occurred_at` (usage/models.py says why each piece
is shaped as it is). Partitions live in the schema `usage_partitions`, where the application role
has no rights: it reaches events only through the parent, whose row-level security applies. The
application role cannot create tables, so it asks for partitions through
`usage_maintain_partitions(ahead)`, a SECURITY DEFINER function run by the daily maintenance job:
it creates the partitions of last month up to `ahead` months from now, and one for every month
found in the DEFAULT partition (events of a test clock far from today), moving those rows over.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from hisaab.migrations.helpers import SCOPE, app_role, grant, tenant_table

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
# Keys of the event tables compare bytewise (usage/models.py).
KEY = sa.Text(collation="C")
PARTITIONS = "usage_partitions"
COLUMNS = (
    "tenant_id, customer_id, meter_id, occurred_at, seq, id, value, unique_value, properties, "
    "received_at"
)
# Months created now, before any job has run: last month up to three months ahead.
AHEAD = 3


def _create_partition_function(schema: str) -> None:
    op.execute(
        f"""
        CREATE FUNCTION usage_create_partition(target date) RETURNS boolean
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $fn$
        DECLARE
            m_first date := make_date(
                extract(year FROM target)::int, extract(month FROM target)::int, 1);
            m_next date := (m_first + interval '1 month')::date;
            lo timestamptz := make_timestamptz(
                extract(year FROM m_first)::int, extract(month FROM m_first)::int, 1, 0, 0, 0, 'UTC');
            hi timestamptz := make_timestamptz(
                extract(year FROM m_next)::int, extract(month FROM m_next)::int, 1, 0, 0, 0,
                'UTC');
            part text := 'usage_events_' || to_char(m_first, 'YYYY_MM');
        BEGIN
            IF to_regclass(format('{PARTITIONS}.%I', part)) IS NOT NULL THEN
                RETURN false;
            END IF;
            -- One creator at a time, and no insert into DEFAULT while its rows of the month move.
            LOCK TABLE {PARTITIONS}.usage_events_default IN ACCESS EXCLUSIVE MODE;
            IF to_regclass(format('{PARTITIONS}.%I', part)) IS NOT NULL THEN
                RETURN false;
            END IF;
            EXECUTE format(
                'CREATE TABLE {PARTITIONS}.%I (LIKE usage_events INCLUDING DEFAULTS)', part);
            EXECUTE format(
                'WITH moved AS (DELETE FROM {PARTITIONS}.usage_events_default '
                'WHERE occurred_at >= $1 AND occurred_at < $2 RETURNING {COLUMNS}) '
                'INSERT INTO {PARTITIONS}.%I ({COLUMNS}) SELECT {COLUMNS} FROM moved', part)
                USING lo, hi;
            -- ATTACH (not CREATE … PARTITION OF) takes a lock that lets inserts go on meanwhile.
            EXECUTE format(
                'ALTER TABLE usage_events ATTACH PARTITION {PARTITIONS}.%I '
                'FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
            EXECUTE format('ALTER TABLE {PARTITIONS}.%I ENABLE ROW LEVEL SECURITY', part);
            EXECUTE format(
                'CREATE POLICY tenant_isolation ON {PARTITIONS}.%I '
                'USING (tenant_id = {SCOPE.replace("'", "''")}) '
                'WITH CHECK (tenant_id = {SCOPE.replace("'", "''")})', part);
            RETURN true;
        END
        $fn$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION usage_maintain_partitions(ahead integer) RETURNS integer
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $fn$
        DECLARE
            this_month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
            m date;
            created integer := 0;
        BEGIN
            FOR m IN
                SELECT generate_series(
                    this_month - interval '1 month',
                    this_month + make_interval(months => greatest(ahead, 0)),
                    interval '1 month')::date
                UNION
                SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date
                FROM {PARTITIONS}.usage_events_default
                ORDER BY 1
            LOOP
                IF usage_create_partition(m) THEN
                    created := created + 1;
                END IF;
            END LOOP;
            RETURN created;
        END
        $fn$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION usage_create_partition(date) FROM PUBLIC")
    op.execute("REVOKE ALL ON FUNCTION usage_maintain_partitions(integer) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION usage_maintain_partitions(integer) TO {app_role()}")


def upgrade() -> None:
    op.create_table(
        "meters",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("aggregation", sa.Text(), nullable=False),
        sa.Column("field", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint(
            "aggregation IN ('count', 'sum', 'max', 'unique_count', 'latest')",
            name=op.f("ck_meters_aggregation"),
        ),
        sa.CheckConstraint(
            "(aggregation = 'count') = (field IS NULL)", name=op.f("ck_meters_field")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_meters")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_meters_tenant_id_code")),
    )
    # Meters are never changed or deleted: charges on plan versions name them for good.
    tenant_table("meters", "SELECT, INSERT")

    op.create_table(
        "usage_event_ids",
        sa.Column("tenant_id", KEY, nullable=False),
        sa.Column("id", KEY, nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_usage_event_ids")),
    )
    tenant_table("usage_event_ids", "SELECT, INSERT")

    op.execute("CREATE SEQUENCE usage_events_seq AS bigint")
    grant("SEQUENCE usage_events_seq", "USAGE")
    op.create_table(
        "usage_events",
        sa.Column("tenant_id", KEY, nullable=False),
        sa.Column("customer_id", KEY, nullable=False),
        sa.Column("meter_id", KEY, nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column(
            "seq",
            sa.BigInteger(),
            server_default=sa.text("nextval('usage_events_seq')"),
            nullable=False,
        ),
        sa.Column("id", KEY, nullable=False),
        sa.Column("value", sa.Numeric(), nullable=True),
        sa.Column("unique_value", sa.Text(), nullable=True),
        sa.Column("properties", postgresql.JSONB(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        postgresql_partition_by="RANGE (occurred_at)",
    )
    op.execute("ALTER SEQUENCE usage_events_seq OWNED BY usage_events.seq")
    op.create_index(
        "ix_usage_events_aggregation",
        "usage_events",
        ["tenant_id", "customer_id", "meter_id", "occurred_at", "seq"],
        postgresql_include=["value", "unique_value"],
    )
    # Append-only: events are never changed; they are reached only through this parent.
    tenant_table("usage_events", "SELECT, INSERT")

    op.execute(f"CREATE SCHEMA {PARTITIONS}")
    op.execute(f"CREATE TABLE {PARTITIONS}.usage_events_default PARTITION OF usage_events DEFAULT")
    op.execute(f"ALTER TABLE {PARTITIONS}.usage_events_default ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {PARTITIONS}.usage_events_default "
        f"USING (tenant_id = {SCOPE}) WITH CHECK (tenant_id = {SCOPE})"
    )
    schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar_one()
    _create_partition_function(schema)
    op.execute(f"SELECT usage_maintain_partitions({AHEAD})")
    _forget_deleted_customers(schema)


def _forget_deleted_customers(schema: str) -> None:
    """Deleting customers (a test clock's, by cascade) deletes their usage events.

    Not a foreign key: checking one for each of tens of thousands of inserted events a second
    (and locking the customer row for it) would cost more than the rest of the insert. A
    statement-level trigger costs nothing until customers are deleted. SECURITY DEFINER because
    events are append-only for the application role; it deletes only the deleted rows' events.
    """
    op.execute(
        f"""
        CREATE FUNCTION usage_forget_customers() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $fn$
        BEGIN
            DELETE FROM usage_events e USING gone
            WHERE e.tenant_id = gone.tenant_id AND e.customer_id = gone.id;
            RETURN NULL;
        END
        $fn$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION usage_forget_customers() FROM PUBLIC")
    op.execute(
        "CREATE TRIGGER usage_forget_customers AFTER DELETE ON customers "
        "REFERENCING OLD TABLE AS gone FOR EACH STATEMENT "
        "EXECUTE FUNCTION usage_forget_customers()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER usage_forget_customers ON customers")
    op.execute("DROP FUNCTION usage_forget_customers()")
    op.execute("DROP FUNCTION usage_maintain_partitions(integer)")
    op.execute("DROP FUNCTION usage_create_partition(date)")
    op.drop_table("usage_events")
    op.execute(f"DROP SCHEMA {PARTITIONS} CASCADE")
    op.drop_table("usage_event_ids")
    op.drop_table("meters")
