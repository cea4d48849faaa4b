"""sync: the change feed holds each version of a listing once

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-21 08:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Two batches carrying the same event, applied side by side, could both append it: keep the first.
    op.execute(
        "DELETE FROM catalogue_change WHERE seq NOT IN "
        "(SELECT min(seq) FROM catalogue_change GROUP BY listing_code, version)"
    )
    with op.batch_alter_table("catalogue_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalogue_change_listing_code"))
        batch_op.create_unique_constraint(batch_op.f("uq_catalogue_change_listing_code"), ["listing_code", "version"])


def downgrade() -> None:
    with op.batch_alter_table("catalogue_change", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_catalogue_change_listing_code"), type_="unique")
        batch_op.create_index(batch_op.f("ix_catalogue_change_listing_code"), ["listing_code"], unique=False)
