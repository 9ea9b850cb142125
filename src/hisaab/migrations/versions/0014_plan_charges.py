"""Metered charges on plan versions.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing versions had no metered charges: the default makes them read as an empty list.
    # The app role's grants on plan_versions (SELECT, INSERT) cover the new column.
    op.add_column(
        "plan_versions",
        sa.Column(
            "charges",
            postgresql.JSONB(),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
    )
    op.create_check_constraint(
        op.f("ck_plan_versions_charges"), "plan_versions", "jsonb_typeof(charges) = 'array'"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_plan_versions_charges"), "plan_versions", type_="check")
    op.drop_column("plan_versions", "charges")
