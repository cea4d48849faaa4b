"""orders across nodes: this node's records of orders held at other nodes, and all-or-nothing order groups

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import marketplace.models.types

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, marketplace.models.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "order_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("failure", sa.JSON(), nullable=True),
        _utc("created_at"),
        _utc("updated_at"),
        sa.ForeignKeyConstraint(["buyer_id"], ["user.id"], name=op.f("fk_order_group_buyer_id_user"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_group")),
        sa.UniqueConstraint("public_id", name=op.f("uq_order_group_public_id")),
        sa.UniqueConstraint("buyer_id", "key", name=op.f("uq_order_group_buyer_id")),
    )  # fmt: skip
    op.create_table(
        "order_group_part",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("listing_code", sa.String(length=20), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        _utc("starts_at"),
        _utc("ends_at"),
        sa.Column("expected_total", sa.BigInteger(), nullable=True),
        sa.Column("order_code", sa.String(length=20), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["order_group.id"], name=op.f("fk_order_group_part_group_id_order_group"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_group_part")),
        sa.UniqueConstraint("group_id", "position", name=op.f("uq_order_group_part_group_id")),
    )  # fmt: skip
    op.create_table(
        "remote_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("listing_code", sa.String(length=20), nullable=False),
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        _utc("starts_at"),
        _utc("ends_at"),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        _utc("hold_expires_at", nullable=True),
        sa.Column("payment_status", sa.String(length=16), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        _utc("refreshed_at"),
        sa.Column("refresh_error", sa.Text(), nullable=True),
        _utc("created_at"),
        _utc("updated_at"),
        sa.ForeignKeyConstraint(["buyer_id"], ["user.id"], name=op.f("fk_remote_order_buyer_id_user"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["group_id"], ["order_group.id"], name=op.f("fk_remote_order_group_id_order_group")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remote_order")),
        sa.UniqueConstraint("code", name=op.f("uq_remote_order_code")),
    )  # fmt: skip
    op.create_index("ix_remote_order_buyer", "remote_order", ["buyer_id", "id"])
    op.create_index("ix_remote_order_refresh", "remote_order", ["status", "refreshed_at"])


def downgrade() -> None:
    op.drop_index("ix_remote_order_refresh", table_name="remote_order")
    op.drop_index("ix_remote_order_buyer", table_name="remote_order")
    op.drop_table("remote_order")
    op.drop_table("order_group_part")
    op.drop_table("order_group")
