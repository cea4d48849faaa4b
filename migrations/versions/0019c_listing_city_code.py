"""listings' city_code (GB/T 2260 city of the datacenter), for latency estimates to buyers

Revision ID: 0019c
Revises: 0019
Create Date: 2026-12-01 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019c"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The city index over searchable listings, and its twin over stale origins' listings (see 0019).
_WHERE = {
    "ix_listing_pub_city": "status = 'published' AND stale_since IS NULL AND city_code IS NOT NULL",
    "ix_listing_stale_city": "status = 'published' AND stale_since IS NOT NULL AND city_code IS NOT NULL",
}


def upgrade() -> None:
    with op.batch_alter_table("listing", schema=None) as batch_op:
        batch_op.add_column(sa.Column("city_code", sa.String(length=6), nullable=True))
    for name, where in _WHERE.items():
        op.create_index(
            name, "listing", ["city_code", "id"], unique=False,
            postgresql_where=sa.text(where), sqlite_where=sa.text(where),
        )  # fmt: skip


def downgrade() -> None:
    for name in _WHERE:
        op.drop_index(name, table_name="listing")
    with op.batch_alter_table("listing", schema=None) as batch_op:
        batch_op.drop_column("city_code")
