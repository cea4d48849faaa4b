"""listings' city_code (GB/T 2260 city of the datacenter), for latency estimates to buyers

Revision ID: 0019c
Revises: 0014
Create Date: 2026-12-01 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019c"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHERE = "status = 'published' AND stale_since IS NULL AND city_code IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("listing", schema=None) as batch_op:
        batch_op.add_column(sa.Column("city_code", sa.String(length=6), nullable=True))
    op.create_index(
        "ix_listing_pub_city", "listing", ["city_code", "id"], unique=False,
        postgresql_where=sa.text(_WHERE), sqlite_where=sa.text(_WHERE),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_listing_pub_city", table_name="listing")
    with op.batch_alter_table("listing", schema=None) as batch_op:
        batch_op.drop_column("city_code")
