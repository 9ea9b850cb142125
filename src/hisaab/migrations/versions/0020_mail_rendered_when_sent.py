"""Letters written by the send job: a message's content may not exist yet.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-22

Writing an invoice or receipt email (Babel-formatted amounts and dates, text and HTML bodies)
cost a billing run a tenth of its CPU, inside the transaction that renews a subscription. The
row the event writes now only says that a letter of its kind is due; the send job renders it
from the stored event and keeps what it sent in `subject`, `text_body` and `html_body`, which
are therefore empty until then (and stay so for a skipped message). `timezone` keeps the
tenant's timezone when the event happened, the calendar such a letter shows dates in, as the
tenant's name and address are kept in `from_name` and `reply_to`.

Downgrading: the older code sends what the row holds, so a message never rendered can only be
recorded as not sent (an empty email would be worse), and its empty texts become ''.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

CONTENT = ("subject", "text_body", "html_body")


def upgrade() -> None:
    for column in CONTENT:
        op.alter_column("mail_messages", column, existing_type=sa.Text(), nullable=True)
    op.add_column("mail_messages", sa.Column("timezone", sa.Text(), nullable=True))


def downgrade() -> None:
    op.execute(
        "UPDATE mail_messages SET status = 'skipped', "
        "last_error = 'not rendered before a downgrade of Hisaab' "
        "WHERE subject IS NULL AND status IN ('queued', 'failed')"
    )
    for column in CONTENT:
        op.execute(f"UPDATE mail_messages SET {column} = '' WHERE {column} IS NULL")
        op.alter_column("mail_messages", column, existing_type=sa.Text(), nullable=False)
    op.drop_column("mail_messages", "timezone")
