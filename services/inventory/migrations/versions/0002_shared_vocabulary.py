"""The shared vocabulary: SKUs as long as everywhere else (128), constraints named by the shared convention.

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

NAMES = {
    "stock": {"stock_pkey": "pk_stock"},
    "reservations": {"reservations_pkey": "pk_reservations"},
    "reservation_lines": {
        "reservation_lines_pkey": "pk_reservation_lines",
        "reservation_lines_order_id_fkey": "fk_reservation_lines_order_id_reservations",
    },
    "outbox": {"outbox_pkey": "pk_outbox"},
    "inbox": {"inbox_pkey": "pk_inbox"},
}


def _sku_length(length: int) -> None:
    for table in ("stock", "reservation_lines"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("sku", type_=sa.String(length), existing_nullable=False)


def upgrade() -> None:
    _sku_length(128)
    rename_constraints(NAMES)


def downgrade() -> None:
    rename_constraints({table: {new: old for old, new in names.items()} for table, names in NAMES.items()})
    _sku_length(100)
