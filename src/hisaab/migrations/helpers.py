"""Building blocks for migrations: the application role, tenant tables and their RLS policy."""

from __future__ import annotations

from alembic import op

SCOPE = "current_setting('app.tenant_id', true)"


def app_role() -> str:
    role: str = op.get_context().config.attributes["app_role"]  # type: ignore[union-attr]
    return role


def ensure_app_role(password: str | None) -> None:
    """The login role the application uses: no superuser, no BYPASSRLS, owns nothing.

    Roles are cluster-wide, so several databases (and test workers) may race to create it.
    """
    role = app_role()
    secret = " PASSWORD '{}'".format(password.replace("'", "''")) if password else ""
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE{secret};
            END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END
        $$;
        """
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {role}")


def grant(table: str, privileges: str) -> None:
    op.execute(f"GRANT {privileges} ON {table} TO {app_role()}")


def tenant_table(table: str, privileges: str = "SELECT, INSERT, UPDATE, DELETE") -> None:
    """Row-level security on a tenant-owned table: a row is visible and writable only in its
    tenant's scope (`app.tenant_id`)."""
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table} "
        f"USING (tenant_id = {SCOPE}) WITH CHECK (tenant_id = {SCOPE})"
    )
    grant(table, privileges)
