"""listing documents stored as rendered

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("listing", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document", sa.Text(), nullable=False, server_default=""))
    _render_existing_documents()


def _render_existing_documents() -> None:
    """Render the document of every listing there is, in batches, with the app's own renderer.

    The table is reflected as it stands at this revision: later models may have more columns.
    """
    from types import SimpleNamespace

    from marketplace.listings.documents import render_document
    from marketplace.models.types import UTCDateTime

    bind = op.get_bind()
    listing = sa.Table("listing", sa.MetaData(), autoload_with=bind)
    aware = UTCDateTime()
    last_id = 0
    while True:
        rows = bind.execute(sa.select(listing).where(listing.c.id > last_id).order_by(listing.c.id).limit(1000)).all()
        if not rows:
            break
        for row in rows:
            values = dict(row._mapping)
            for name in ("available_from", "available_until", "updated_at", "created_at"):
                values[name] = aware.process_result_value(values[name], bind.dialect)
            document = render_document(SimpleNamespace(**values))
            bind.execute(listing.update().where(listing.c.id == row.id).values(document=document))
        last_id = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("listing", schema=None) as batch_op:
        batch_op.drop_column("document")
