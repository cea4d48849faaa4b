"""search: an index of GPU model and city, so that "this model near me" reads only the nearby listings

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01 08:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# near_city with max_latency_ms asks for a city among the near ones (listings/search.py's _near_condition);
# with a GPU model too, this index finds exactly those rows instead of every listing of the model.
# Its twin covers stale origins' listings, as 0019's do.
_WHERE = {
    "ix_listing_pub_model_city": "status = 'published' AND stale_since IS NULL AND city_code IS NOT NULL",
    "ix_listing_stale_model_city": "status = 'published' AND stale_since IS NOT NULL AND city_code IS NOT NULL",
}


def upgrade() -> None:
    for name, where in _WHERE.items():
        op.create_index(
            name, "listing", ["gpu_model", "city_code"], unique=False,
            postgresql_where=sa.text(where), sqlite_where=sa.text(where),
        )  # fmt: skip


def downgrade() -> None:
    for name in _WHERE:
        op.drop_index(name, table_name="listing")
