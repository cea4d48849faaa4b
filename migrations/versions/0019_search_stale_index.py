"""search: an index of the listings of stale origins, so that include_stale=true reads no whole table

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


def upgrade() -> None:
    where = sa.text(_STALE)
    op.create_index("ix_listing_pub_stale", "listing", ["id"], postgresql_where=where, sqlite_where=where)


def downgrade() -> None:
    op.drop_index("ix_listing_pub_stale", table_name="listing")
