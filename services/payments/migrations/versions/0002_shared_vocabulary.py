"""The shared vocabulary: exact money on SQLite too, identifiers of one length, constraints by the convention.

On SQLite the amount column held NUMERIC values as binary floats (123456789012345.6789 read back as ...6719);
it becomes decimal text, like every Money column. Amounts already stored keep the value SQLite had kept.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from eventkit.migrate import rename_constraints

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# eventkit.columns.Money as of this revision.
MONEY = sa.Numeric(24, 4).with_variant(sa.String(40), "sqlite")
NAMES = {
    "payments": {"payments_pkey": "pk_payments"},
    "outbox": {"outbox_pkey": "pk_outbox"},
    "inbox": {"inbox_pkey": "pk_inbox"},
}


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.alter_column("customer_id", type_=sa.String(128), existing_type=sa.Text())
        batch.alter_column("payment_id", type_=sa.String(128), existing_type=sa.String(255))
        batch.alter_column("amount", type_=MONEY, existing_type=sa.Numeric(24, 4))
    rename_constraints(NAMES)


def downgrade() -> None:
    rename_constraints({table: {new: old for old, new in names.items()} for table, names in NAMES.items()})
    with op.batch_alter_table("payments") as batch:
        batch.alter_column("amount", type_=sa.Numeric(24, 4), existing_type=MONEY)
        batch.alter_column("payment_id", type_=sa.String(255), existing_type=sa.String(128))
        batch.alter_column("customer_id", type_=sa.Text(), existing_type=sa.String(128))
