"""trading (PostgreSQL): a GiST index of each listing's orders by window, so that an order reads only the orders
that overlap its own

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01 16:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite reads a listing's orders by ix_order_listing_status, as before
    # btree_gist lets one GiST index hold the listing's id beside the window (a trusted extension: a database
    # owner may create it). In public, so that it outlives any one schema of a database shared by several.
    # A role that may not create it gets the window alone in the index (built in): PostgreSQL then combines it
    # with ix_order_listing_status. Either answers the same query; the first reads less.
    op.execute("""
        DO $$
        BEGIN
            CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'btree_gist cannot be created by this role: orders are indexed by window alone';
        END $$
    """)
    op.execute("""
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'btree_gist') THEN
                CREATE INDEX ix_order_listing_window ON "order" USING gist (listing_id, tstzrange(starts_at, ends_at));
            ELSE
                CREATE INDEX ix_order_listing_window ON "order" USING gist (tstzrange(starts_at, ends_at));
            END IF;
        END $$
    """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_order_listing_window")
