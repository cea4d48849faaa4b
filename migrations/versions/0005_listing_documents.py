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
    """Render the document of every listing there is, in batches, with the app's own renderer."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from marketplace.listings.documents import render_document
    from marketplace.models import Listing

    session = Session(bind=op.get_bind())
    last_id = 0
    while True:
        batch = session.scalars(select(Listing).where(Listing.id > last_id).order_by(Listing.id).limit(1000)).all()
        if not batch:
            break
        for listing in batch:
            listing.document = render_document(listing)
        session.flush()
        last_id = batch[-1].id
        session.expunge_all()


def downgrade() -> None:
    with op.batch_alter_table("listing", schema=None) as batch_op:
        batch_op.drop_column("document")
