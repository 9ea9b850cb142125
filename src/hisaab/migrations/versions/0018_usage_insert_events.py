"""Storing a batch of usage events: one function, the new ids inserted plainly when they can be.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-21

`usage_insert_events` stores the admitted events of a batch (usage/repository.py sends them as
column arrays) and returns how many were new. Deduplication stays the primary key of
`usage_event_ids`, but the common case (no id of the batch stored before) no longer pays for
`INSERT … ON CONFLICT DO NOTHING`, whose speculative insertion costs about half as much again
as a plain insert of the ids (measured: ~7 ms against ~4.5 ms per 1,000 events). The ids are
first inserted plainly, sorted; a `unique_violation` (an id stored before, or by a concurrent
request that committed while this one waited on it) rolls that attempt back (the block is a
subtransaction) and the batch goes in through `ON CONFLICT DO NOTHING`, which skips the stored
ids: the outcome is the same either way. SECURITY INVOKER: row-level security applies as for
any statement of the caller.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hisaab.migrations.helpers import app_role

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_ARGUMENTS = "text, text[], text[], text[], timestamptz[], text[], text[], jsonb, timestamptz"


def upgrade() -> None:
    schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar_one()
    op.execute(
        f"""
        CREATE FUNCTION usage_insert_events(
            tenant text, ids text[], customers text[], meters text[], times timestamptz[],
            amounts text[], uniques text[], properties jsonb, received timestamptz
        ) RETURNS integer
        LANGUAGE plpgsql SET search_path = {schema}, pg_temp AS $fn$
        DECLARE
            stored integer;
        BEGIN
            BEGIN
                INSERT INTO usage_event_ids (tenant_id, id, occurred_at)
                SELECT tenant, u.i, u.t FROM unnest(ids, times) AS u(i, t)
                ORDER BY u.i COLLATE "C";
                -- All new: every event goes in, in the batch's order (that of the arrays).
                INSERT INTO usage_events (
                    tenant_id, customer_id, meter_id, occurred_at, id, value, unique_value,
                    properties, received_at
                )
                SELECT tenant, e.c, e.m, e.t, e.i, CAST(e.v AS numeric), e.u, e.p, received
                FROM ROWS FROM (
                    unnest(ids), unnest(customers), unnest(meters), unnest(times),
                    unnest(amounts), unnest(uniques), jsonb_array_elements(properties)
                ) AS e(i, c, m, t, v, u, p);
                GET DIAGNOSTICS stored = ROW_COUNT;
            EXCEPTION WHEN unique_violation THEN
                WITH fresh AS (
                    INSERT INTO usage_event_ids (tenant_id, id, occurred_at)
                    SELECT tenant, u.i, u.t FROM unnest(ids, times) AS u(i, t)
                    ORDER BY u.i COLLATE "C"
                    ON CONFLICT DO NOTHING
                    RETURNING id
                )
                INSERT INTO usage_events (
                    tenant_id, customer_id, meter_id, occurred_at, id, value, unique_value,
                    properties, received_at
                )
                SELECT tenant, e.c, e.m, e.t, e.i, CAST(e.v AS numeric), e.u, e.p, received
                FROM ROWS FROM (
                    unnest(ids), unnest(customers), unnest(meters), unnest(times),
                    unnest(amounts), unnest(uniques), jsonb_array_elements(properties)
                ) WITH ORDINALITY AS e(i, c, m, t, v, u, p, n)
                WHERE e.i IN (SELECT id FROM fresh)
                ORDER BY e.n;
                GET DIAGNOSTICS stored = ROW_COUNT;
            END;
            RETURN stored;
        END
        $fn$
        """
    )
    op.execute(f"REVOKE ALL ON FUNCTION usage_insert_events({_ARGUMENTS}) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION usage_insert_events({_ARGUMENTS}) TO {app_role()}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION usage_insert_events({_ARGUMENTS})")
