"""Available stock as a 64-bit integer: the API accepts up to MAX_STOCK units, beyond a 32-bit column.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stock") as batch:
        batch.alter_column("available", type_=sa.BigInteger(), existing_type=sa.Integer(), existing_nullable=False)


def downgrade() -> None:
    # Fails on PostgreSQL if a SKU holds more than a 32-bit column can: nothing is cut silently.
    with op.batch_alter_table("stock") as batch:
        batch.alter_column("available", type_=sa.Integer(), existing_type=sa.BigInteger(), existing_nullable=False)
