"""A per-tenant version of its webhook endpoints, read with the API key.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-21

Every request that emits an event asks which of the tenant's webhook endpoints are enabled; most
tenants have none, or a few that rarely change. `tenants.webhooks_version` counts the changes to
a tenant's endpoints: a row trigger on `webhook_endpoints` moves it on every insert, update and
delete, in the transaction that makes the change (so the count and the endpoints commit
together). `hisaab_resolve_api_key` returns it with the key, in the statement that authenticates
a request, and the webhooks repository keeps each tenant's enabled endpoints per process keyed
by (tenant, version): a request whose version is the cached one needs no query.

A column of `tenants` rather than a table of its own: authentication finds the tenant's row by
its primary key in the same statement, and the app role already reads it (its own row only,
under row-level security). The trigger's function is SECURITY DEFINER (the owner's rights, which
row-level security does not restrict), so bumping the count asks nothing of the app role.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hisaab.migrations.helpers import app_role

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def _resolve_api_key(columns: str, select: str) -> None:
    """(Re)create the key lookup authentication runs: its result type differs between the two
    revisions, so it is dropped and created, never replaced."""
    op.execute("DROP FUNCTION IF EXISTS hisaab_resolve_api_key(text)")
    op.execute(
        f"""
        CREATE FUNCTION hisaab_resolve_api_key(key_hash text)
        RETURNS TABLE ({columns})
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
            {select}
        $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION hisaab_resolve_api_key(text) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION hisaab_resolve_api_key(text) TO {app_role()}")


def upgrade() -> None:
    op.add_column(
        "tenants",
        sa.Column("webhooks_version", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.execute(
        """
        CREATE FUNCTION hisaab_bump_webhooks_version() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
        BEGIN
            IF TG_OP <> 'INSERT' THEN
                UPDATE tenants SET webhooks_version = webhooks_version + 1
                WHERE id = OLD.tenant_id;
            END IF;
            IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.tenant_id <> OLD.tenant_id) THEN
                UPDATE tenants SET webhooks_version = webhooks_version + 1
                WHERE id = NEW.tenant_id;
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    # Only the trigger calls it.
    op.execute("REVOKE ALL ON FUNCTION hisaab_bump_webhooks_version() FROM PUBLIC")
    op.execute(
        "CREATE TRIGGER webhooks_version AFTER INSERT OR UPDATE OR DELETE ON webhook_endpoints "
        "FOR EACH ROW EXECUTE FUNCTION hisaab_bump_webhooks_version()"
    )
    _resolve_api_key(
        "tenant_id text, key_id text, webhooks_version bigint",
        """SELECT k.tenant_id, k.id, t.webhooks_version
            FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
            WHERE k.secret_hash = key_hash AND k.revoked_at IS NULL""",
    )


def downgrade() -> None:
    _resolve_api_key(
        "tenant_id text, key_id text",
        """SELECT k.tenant_id, k.id FROM api_keys k
            WHERE k.secret_hash = key_hash AND k.revoked_at IS NULL""",
    )
    op.execute("DROP TRIGGER webhooks_version ON webhook_endpoints")
    op.execute("DROP FUNCTION hisaab_bump_webhooks_version()")
    op.drop_column("tenants", "webhooks_version")
