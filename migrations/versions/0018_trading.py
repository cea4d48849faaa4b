"""trading: orders, their append-only events, idempotency keys; listings' min_hours and capacity

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 01:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import marketplace.models.types

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _utc(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, marketplace.models.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("listing", schema=None) as batch_op:
        batch_op.add_column(sa.Column("min_hours", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("capacity", _JSON, nullable=True))

    op.create_table(
        "order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("listing_code", sa.String(length=20), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=True),
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("buyer_name", sa.String(length=100), nullable=False),
        sa.Column("buyer_org", sa.String(length=200), nullable=False),
        sa.Column("buyer_node", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        _utc("starts_at"),
        _utc("ends_at"),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        _utc("hold_expires_at", nullable=True),
        sa.Column("payment_provider", sa.String(length=16), nullable=False),
        sa.Column("payment_status", sa.String(length=16), nullable=False),
        sa.Column("payment_reference", sa.String(length=200), nullable=True),
        sa.Column("access_details", sa.Text(), nullable=True),
        _utc("reported_at", nullable=True),
        _utc("created_at"),
        _utc("updated_at"),
        sa.ForeignKeyConstraint(["listing_id"], ["listing.id"], name=op.f("fk_order_listing_id_listing"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["seller_id"], ["user.id"], name=op.f("fk_order_seller_id_user"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["buyer_id"], ["user.id"], name=op.f("fk_order_buyer_id_user"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order")),
        sa.UniqueConstraint("code", name=op.f("uq_order_code")),
    )  # fmt: skip
    op.create_index("ix_order_listing_status", "order", ["listing_id", "status", "starts_at"])
    op.create_index("ix_order_buyer", "order", ["buyer_id", "id"])
    op.create_index("ix_order_seller", "order", ["seller_id", "id"])
    held = sa.text("status = 'held'")
    op.create_index("ix_order_held_expiry", "order", ["hold_expires_at"], postgresql_where=held, sqlite_where=held)

    op.create_table(
        "order_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _utc("created_at"),
        sa.ForeignKeyConstraint(["order_id"], ["order.id"], name=op.f("fk_order_event_order_id_order")),
        sa.ForeignKeyConstraint(["actor_id"], ["user.id"], name=op.f("fk_order_event_actor_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_event")),
    )
    op.create_index(op.f("ix_order_event_order_id"), "order_event", ["order_id"])
    _make_events_append_only()

    op.create_table(
        "idempotency_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        _utc("created_at"),
        sa.ForeignKeyConstraint(["account_id"], ["user.id"], name=op.f("fk_idempotency_key_account_id_user"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["order_id"], ["order.id"], name=op.f("fk_idempotency_key_order_id_order")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_key")),
        sa.UniqueConstraint("account_id", "key", name=op.f("uq_idempotency_key_account_id")),
    )  # fmt: skip
    op.create_index(op.f("ix_idempotency_key_created_at"), "idempotency_key", ["created_at"])


def _make_events_append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION order_event_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'order events are append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER order_event_append_only BEFORE UPDATE OR DELETE ON order_event "
            "FOR EACH ROW EXECUTE FUNCTION order_event_is_append_only()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER order_event_no_{action.lower()} BEFORE {action} ON order_event "
            f"BEGIN SELECT RAISE(ABORT, 'order events are append-only'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS order_event_append_only ON order_event")
        op.execute("DROP FUNCTION IF EXISTS order_event_is_append_only()")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS order_event_no_{action}")
    op.drop_index(op.f("ix_idempotency_key_created_at"), table_name="idempotency_key")
    op.drop_table("idempotency_key")
    op.drop_index(op.f("ix_order_event_order_id"), table_name="order_event")
    op.drop_table("order_event")
    for name in ("ix_order_held_expiry", "ix_order_seller", "ix_order_buyer", "ix_order_listing_status"):
        op.drop_index(name, table_name="order")
    op.drop_table("order")
    with op.batch_alter_table("listing", schema=None) as batch_op:
        batch_op.drop_column("capacity")
        batch_op.drop_column("min_hours")
