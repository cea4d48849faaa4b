"""search: the search indexes again over the listings of stale origins, so that include_stale=true reads
no whole table

Revision ID: 0019
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0014"
branch_labels = None
depends_on = None

_STALE = "status = 'published' AND stale_since IS NOT NULL"  # as in marketplace/models/listing.py
# name -> (columns, extra predicate), as marketplace/models/listing.py's SEARCH_INDEXES at this revision
_INDEXES = {
    "newest": (["id"], ""),
    "price": (["unit_price", "id"], ""),
    "type_newest": (["resource_type", "id"], ""),
    "type_price": (["resource_type", "unit_price", "id"], ""),
    "type_model_price": (["resource_type", "gpu_model", "unit_price", "id"], ""),
    "region_price": (["region", "unit_price", "id"], ""),
    "origin_newest": (["origin", "id"], ""),
    "ppg": (["price_per_gpu_hour", "id"], " AND price_per_gpu_hour IS NOT NULL"),
    "model_ppg": (["gpu_model", "price_per_gpu_hour", "id"], " AND price_per_gpu_hour IS NOT NULL"),
}


def upgrade() -> None:
    for name, (columns, extra) in _INDEXES.items():
        where = sa.text(_STALE + extra)
        op.create_index(f"ix_listing_stale_{name}", "listing", columns, postgresql_where=where, sqlite_where=where)


def downgrade() -> None:
    for name in _INDEXES:
        op.drop_index(f"ix_listing_stale_{name}", table_name="listing")
