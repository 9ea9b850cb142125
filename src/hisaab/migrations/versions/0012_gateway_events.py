"""Inbound gateway webhooks: each gateway event stored once by its id.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from hisaab.migrations.helpers import tenant_table

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "gateway_events",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("gateway", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("object_id", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('applied', 'unchanged', 'unmatched', 'ignored')",
            name=op.f("ck_gateway_events_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_gateway_events_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_gateway_events")),
        # A redelivered event is the same row: the database, not a check, makes it apply once.
        sa.UniqueConstraint(
            "tenant_id",
            "gateway",
            "event_id",
            name=op.f("uq_gateway_events_tenant_id_gateway_event_id"),
        ),
    )
    # Claimed (inserted) before it is applied, then its outcome written: never deleted.
    tenant_table("gateway_events", "SELECT, INSERT, UPDATE")
    op.create_index(
        "ix_refunds_gateway_refund", "refunds", ["tenant_id", "gateway", "gateway_refund_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_refunds_gateway_refund", table_name="refunds")
    op.drop_table("gateway_events")
