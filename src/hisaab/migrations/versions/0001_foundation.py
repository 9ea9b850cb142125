"""Foundation: job queue, tenants, API keys, idempotency, audit log, test clocks; RLS.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from procrastinate.schema import SchemaManager
from sqlalchemy.dialects import postgresql

from hisaab.migrations.helpers import SCOPE, app_role, ensure_app_role, grant, tenant_table

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _job_queue() -> None:
    """procrastinate's own schema, at the version pinned in the lock file."""
    # Through the driver directly: the schema text has literal `%` that bind parsing would eat.
    driver_connection = op.get_bind().connection.driver_connection
    assert driver_connection is not None
    driver_connection.execute(SchemaManager.get_schema())
    role = app_role()
    tables = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate%'"
            )
        )
        .scalars()
    )
    for table in tables:
        grant(table, "SELECT, INSERT, UPDATE, DELETE")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")


def upgrade() -> None:
    ensure_app_role(op.get_context().config.attributes.get("app_password"))  # type: ignore[union-attr]
    _job_queue()
    op.execute(f"GRANT SELECT ON alembic_version TO {app_role()}")

    op.create_table(
        "tenants",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("country", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("gstin", sa.Text(), nullable=True),
        sa.Column("base_currency", sa.Text(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("invoice_prefix", sa.Text(), nullable=False),
        sa.Column("lut", sa.Boolean(), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("address", postgresql.JSONB(), nullable=True),
        sa.Column("tax_registrations", postgresql.JSONB(), nullable=False),
        sa.Column("dunning", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
    )
    op.execute("ALTER TABLE tenants ENABLE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON tenants "
        f"USING (id = {SCOPE} OR {SCOPE} = 'operator') WITH CHECK (id = {SCOPE} OR {SCOPE} = 'operator')"
    )
    grant("tenants", "SELECT, INSERT, UPDATE")

    op.create_table(
        "api_keys",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        sa.Column("last4", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_api_keys_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_api_keys_secret_hash")),
    )
    tenant_table("api_keys", "SELECT, INSERT, UPDATE")
    # The operator mints a new tenant's first key.
    op.execute(
        f"CREATE POLICY operator_issues_keys ON api_keys FOR INSERT WITH CHECK ({SCOPE} = 'operator')"
    )
    op.execute(
        """
        CREATE FUNCTION hisaab_resolve_api_key(key_hash text)
        RETURNS TABLE (tenant_id text, key_id text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
            SELECT k.tenant_id, k.id FROM api_keys k
            WHERE k.secret_hash = key_hash AND k.revoked_at IS NULL
        $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION hisaab_resolve_api_key(text) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION hisaab_resolve_api_key(text) TO {app_role()}")

    op.create_table(
        "idempotency_keys",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "key", name=op.f("pk_idempotency_keys")),
    )
    tenant_table("idempotency_keys", "SELECT, INSERT")
    op.execute(
        """
        CREATE FUNCTION hisaab_purge_idempotency_keys(ttl interval) RETURNS bigint
        LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT AS $$
            WITH gone AS (DELETE FROM idempotency_keys WHERE created_at < now() - ttl RETURNING 1)
            SELECT count(*) FROM gone
        $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION hisaab_purge_idempotency_keys(interval) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION hisaab_purge_idempotency_keys(interval) TO {app_role()}")

    op.create_table(
        "audit_log",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Text(), nullable=False),
        sa.Column("ip", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_audit_log")),
    )
    tenant_table("audit_log", "SELECT, INSERT")

    op.create_table(
        "test_clocks",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("frozen_time", TS, nullable=False),
        sa.Column("reached_time", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_test_clocks")),
    )
    tenant_table("test_clocks")


def downgrade() -> None:
    for table in ("test_clocks", "audit_log", "idempotency_keys", "api_keys", "tenants"):
        op.drop_table(table)
    op.execute("DROP FUNCTION IF EXISTS hisaab_resolve_api_key(text)")
    op.execute("DROP FUNCTION IF EXISTS hisaab_purge_idempotency_keys(interval)")
    # procrastinate ships no uninstall script: drop its tables, functions and types by name.
    op.execute(
        """
        DO $$
        DECLARE item record;
        BEGIN
            FOR item IN SELECT tablename FROM pg_tables
                        WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate%' LOOP
                EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', item.tablename);
            END LOOP;
            FOR item IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
                        WHERE p.pronamespace = current_schema()::regnamespace
                          AND p.proname LIKE 'procrastinate%' LOOP
                EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', item.signature);
            END LOOP;
            FOR item IN SELECT t.typname FROM pg_type t
                        WHERE t.typnamespace = current_schema()::regnamespace
                          AND t.typname LIKE 'procrastinate%' AND t.typtype IN ('e', 'c') LOOP
                EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', item.typname);
            END LOOP;
        END
        $$;
        """
    )
