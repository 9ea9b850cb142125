"""Catalog: plans, their immutable versions and prices, coupons.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from hisaab.migrations.helpers import tenant_table

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("archived_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_plans")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_plans_tenant_id_code")),
        sa.CheckConstraint("status IN ('active', 'archived')", name=op.f("ck_plans_status")),
        sa.CheckConstraint("current_version >= 1", name=op.f("ck_plans_current_version")),
    )
    # No DELETE: subscriptions point at plans for as long as they exist.
    tenant_table("plans", "SELECT, INSERT, UPDATE")

    op.create_table(
        "plan_versions",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("plan_id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("interval", sa.Text(), nullable=False),
        sa.Column("interval_count", sa.Integer(), nullable=False),
        sa.Column("trial_days", sa.Integer(), nullable=False),
        sa.Column("tax_behavior", sa.Text(), nullable=False),
        sa.Column("sac_code", sa.Text(), nullable=False),
        sa.Column("features", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "plan_id", "version", name=op.f("pk_plan_versions")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "plan_id"],
            ["plans.tenant_id", "plans.id"],
            name=op.f("fk_plan_versions_tenant_id_plan_id_plans"),
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_plan_versions_version")),
        sa.CheckConstraint(
            "interval IN ('day', 'week', 'month', 'year')", name=op.f("ck_plan_versions_interval")
        ),
        sa.CheckConstraint(
            "interval_count BETWEEN 1 AND 365", name=op.f("ck_plan_versions_interval_count")
        ),
        sa.CheckConstraint(
            "trial_days BETWEEN 0 AND 730", name=op.f("ck_plan_versions_trial_days")
        ),
        sa.CheckConstraint(
            "tax_behavior IN ('exclusive', 'inclusive')", name=op.f("ck_plan_versions_tax_behavior")
        ),
    )
    # Immutable once written: a change of terms is a new version.
    tenant_table("plan_versions", "SELECT, INSERT")

    op.create_table(
        "plan_prices",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("plan_id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("unit_amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "plan_id", "version", "currency", name=op.f("pk_plan_prices")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "plan_id", "version"],
            ["plan_versions.tenant_id", "plan_versions.plan_id", "plan_versions.version"],
            name=op.f("fk_plan_prices_tenant_id_plan_id_version_plan_versions"),
        ),
        sa.CheckConstraint(
            "unit_amount BETWEEN 0 AND 1000000000000", name=op.f("ck_plan_prices_unit_amount")
        ),
    )
    tenant_table("plan_prices", "SELECT, INSERT")

    op.create_table(
        "coupons",
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("percent_off", sa.Numeric(5, 2), nullable=True),
        sa.Column("amount_off", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=True),
        sa.Column("duration", sa.Text(), nullable=False),
        sa.Column("duration_in_periods", sa.Integer(), nullable=True),
        sa.Column("max_redemptions", sa.Integer(), nullable=True),
        sa.Column("redeem_by", TS, nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_coupons")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_coupons_tenant_id_code")),
        sa.CheckConstraint("status IN ('active', 'archived')", name=op.f("ck_coupons_status")),
        sa.CheckConstraint(
            "(percent_off IS NULL) <> (amount_off IS NULL)", name=op.f("ck_coupons_one_discount")
        ),
        sa.CheckConstraint(
            "(amount_off IS NULL) = (currency IS NULL)", name=op.f("ck_coupons_amount_currency")
        ),
        sa.CheckConstraint(
            "percent_off > 0 AND percent_off <= 100", name=op.f("ck_coupons_percent_off")
        ),
        sa.CheckConstraint(
            "amount_off BETWEEN 1 AND 1000000000000", name=op.f("ck_coupons_amount_off")
        ),
        sa.CheckConstraint(
            "duration IN ('once', 'repeating', 'forever')", name=op.f("ck_coupons_duration")
        ),
        sa.CheckConstraint(
            "(duration = 'repeating') = (duration_in_periods IS NOT NULL)",
            name=op.f("ck_coupons_duration_in_periods"),
        ),
        sa.CheckConstraint("max_redemptions >= 1", name=op.f("ck_coupons_max_redemptions")),
    )
    tenant_table("coupons", "SELECT, INSERT, UPDATE")


def downgrade() -> None:
    for table in ("coupons", "plan_prices", "plan_versions", "plans"):
        op.drop_table(table)
