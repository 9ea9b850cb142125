"""Invoices no longer store `amount_credited`: it is the sum of their credit notes, read from them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_column("invoices", "amount_credited")


def downgrade() -> None:
    op.add_column(
        "invoices",
        sa.Column("amount_credited", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.execute(
        "UPDATE invoices i SET amount_credited = n.total FROM "
        "(SELECT tenant_id, invoice_id, sum(total) AS total FROM credit_notes "
        "GROUP BY tenant_id, invoice_id) n "
        "WHERE n.tenant_id = i.tenant_id AND n.invoice_id = i.id"
    )
