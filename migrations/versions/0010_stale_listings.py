"""listings of unreachable origins: stale_since, and search indexes that leave them out

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-21 05:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import marketplace.models.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name -> (columns, extra predicate), as in marketplace/models/listing.py
_INDEXES = {
    "ix_listing_pub_newest": (["id"], ""),
    "ix_listing_pub_price": (["unit_price", "id"], ""),
    "ix_listing_pub_type_newest": (["resource_type", "id"], ""),
    "ix_listing_pub_type_price": (["resource_type", "unit_price", "id"], ""),
    "ix_listing_pub_type_model_price": (["resource_type", "gpu_model", "unit_price", "id"], ""),
    "ix_listing_pub_region_price": (["region", "unit_price", "id"], ""),
    "ix_listing_pub_origin_newest": (["origin", "id"], ""),
    "ix_listing_pub_ppg": (["price_per_gpu_hour", "id"], " AND price_per_gpu_hour IS NOT NULL"),
    "ix_listing_pub_model_ppg": (["gpu_model", "price_per_gpu_hour", "id"], " AND price_per_gpu_hour IS NOT NULL"),
}


def _recreate_indexes(predicate: str) -> None:
    for name, (columns, extra) in _INDEXES.items():
        op.drop_index(name, table_name="listing")
        where = sa.text(predicate + extra)
        op.create_index(name, "listing", columns, postgresql_where=where, sqlite_where=where)


def upgrade() -> None:
    with op.batch_alter_table("listing", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stale_since", marketplace.models.types.UTCDateTime(timezone=True)))
    _recreate_indexes("status = 'published' AND stale_since IS NULL")


def downgrade() -> None:
    _recreate_indexes("status = 'published'")
    with op.batch_alter_table("listing", schema=None) as batch_op:
        batch_op.drop_column("stale_since")
