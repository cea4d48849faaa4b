"""trading: a listing's published capacity may be left stale by a burst of orders, for the sync worker to publish

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("listing", sa.Column("capacity_stale", sa.Boolean(), nullable=False, server_default=sa.false()))
    # The sync worker looks for stale listings several times a second: the index holds only those.
    op.create_index(
        "ix_listing_capacity_stale", "listing", ["id"], unique=False,
        postgresql_where=sa.text("capacity_stale"), sqlite_where=sa.text("capacity_stale"),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_listing_capacity_stale", table_name="listing")
    with op.batch_alter_table("listing") as batch:
        batch.drop_column("capacity_stale")
