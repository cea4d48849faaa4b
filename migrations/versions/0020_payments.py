"""payments: each order's payment, the ledger, Stripe's events once by id, sellers' Stripe accounts

Revision ID: 0020
Revises: 0019c
Create Date: 2026-12-01 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import marketplace.models.types

revision: str = "0020"
down_revision: str | None = "0019c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, marketplace.models.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payment_url", sa.String(length=2000), nullable=True))

    op.create_table(
        "payment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("session_id", sa.String(length=255), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("payment_intent_id", sa.String(length=255), nullable=True),
        sa.Column("charge_id", sa.String(length=255), nullable=True),
        sa.Column("transfer_id", sa.String(length=255), nullable=True),
        sa.Column("fapiao_company", sa.String(length=200), nullable=True),
        sa.Column("fapiao_uscc", sa.String(length=18), nullable=True),
        sa.Column("fapiao_number", sa.String(length=40), nullable=True),
        _utc("created_at"),
        _utc("updated_at"),
        sa.ForeignKeyConstraint(["order_id"], ["order.id"], name=op.f("fk_payment_order_id_order")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment")),
        sa.UniqueConstraint("order_id", name=op.f("uq_payment_order_id")),
        sa.UniqueConstraint("session_id", name=op.f("uq_payment_session_id")),
    )
    op.create_index(op.f("ix_payment_payment_intent_id"), "payment", ["payment_intent_id"])

    op.create_table(
        "ledger_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("seller_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=254), nullable=False),
        _utc("created_at"),
        sa.ForeignKeyConstraint(["order_id"], ["order.id"], name=op.f("fk_ledger_entry_order_id_order")),
        sa.ForeignKeyConstraint(["seller_id"], ["user.id"], name=op.f("fk_ledger_entry_seller_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entry")),
        sa.UniqueConstraint("kind", "reference", name=op.f("uq_ledger_entry_kind")),
    )
    op.create_index(op.f("ix_ledger_entry_order_id"), "ledger_entry", ["order_id"])
    op.create_index(op.f("ix_ledger_entry_seller_id"), "ledger_entry", ["seller_id"])

    op.create_table(
        "stripe_event",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("object_id", sa.String(length=255), nullable=False),
        _utc("received_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_event")),
    )

    op.create_table(
        "seller_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("stripe_account_id", sa.String(length=255), nullable=False),
        sa.Column("payouts_enabled", sa.Boolean(), nullable=False),
        sa.Column("details_submitted", sa.Boolean(), nullable=False),
        _utc("updated_at"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_seller_account_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_account")),
        sa.UniqueConstraint("user_id", name=op.f("uq_seller_account_user_id")),
        sa.UniqueConstraint("stripe_account_id", name=op.f("uq_seller_account_stripe_account_id")),
    )


def downgrade() -> None:
    op.drop_table("seller_account")
    op.drop_table("stripe_event")
    op.drop_index(op.f("ix_ledger_entry_seller_id"), table_name="ledger_entry")
    op.drop_index(op.f("ix_ledger_entry_order_id"), table_name="ledger_entry")
    op.drop_table("ledger_entry")
    op.drop_index(op.f("ix_payment_payment_intent_id"), table_name="payment")
    op.drop_table("payment")
    with op.batch_alter_table("order", schema=None) as batch_op:
        batch_op.drop_column("payment_url")
