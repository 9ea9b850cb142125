"""Outbound webhooks: endpoints and their delivery log.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from hisaab.migrations.helpers import tenant_table

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        # Sealed with hisaab.core.secrets: never the signing secret in clear.
        sa.Column("secret_sealed", sa.Text(), nullable=False),
        sa.Column("disabled_at", TS, nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_webhook_endpoints")),
    )
    tenant_table("webhook_endpoints", "SELECT, INSERT, UPDATE, DELETE")

    op.create_table(
        "webhook_deliveries",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("endpoint_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("scheduled_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("delivered_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')",
            name=op.f("ck_webhook_deliveries_status"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_webhook_deliveries")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "endpoint_id"],
            ["webhook_endpoints.tenant_id", "webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_tenant_id_endpoint_id_webhook_endpoints"),
            ondelete="CASCADE",
        ),
        # One delivery per (endpoint, event): a replayed event finds its delivery already there.
        sa.UniqueConstraint(
            "tenant_id",
            "endpoint_id",
            "event_id",
            name=op.f("uq_webhook_deliveries_tenant_id_endpoint_id_event_id"),
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_endpoint", "webhook_deliveries", ["tenant_id", "endpoint_id", "id"]
    )
    # DELETE only through the endpoint's cascade (referential actions bypass RLS and grants).
    tenant_table("webhook_deliveries", "SELECT, INSERT, UPDATE")

    op.create_table(
        "webhook_attempts",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("delivery_id", sa.Text(), nullable=False),
        sa.Column("endpoint_id", sa.Text(), nullable=False),
        sa.Column("trigger", sa.Text(), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("attempted_at", TS, nullable=False),
        sa.CheckConstraint(
            "trigger IN ('scheduled', 'manual')", name=op.f("ck_webhook_attempts_trigger")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_webhook_attempts")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "delivery_id"],
            ["webhook_deliveries.tenant_id", "webhook_deliveries.id"],
            name=op.f("fk_webhook_attempts_tenant_id_delivery_id_webhook_deliveries"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_webhook_attempts_delivery", "webhook_attempts", ["tenant_id", "delivery_id"]
    )
    op.create_index(
        "ix_webhook_attempts_endpoint",
        "webhook_attempts",
        ["tenant_id", "endpoint_id", "attempted_at"],
    )
    # Append-only: what a receiver answered is history.
    tenant_table("webhook_attempts", "SELECT, INSERT")


def downgrade() -> None:
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
