"""listings: a draft may leave any field but its title empty

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-01 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Columns a draft may leave empty; publishing still needs every one (the schema checks, not the table).
_DRAFT_OPTIONAL = {
    "resource_type": sa.String(length=16),
    "region": sa.String(length=2),
    "unit_price": sa.BigInteger(),
    "price_unit": sa.String(length=16),
    "quantity": sa.Integer(),
    "available_from": sa.DateTime(timezone=True),
    "available_until": sa.DateTime(timezone=True),
}


def _set_nullable(nullable: bool) -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, type_ in _DRAFT_OPTIONAL.items():
            op.alter_column("listing", name, existing_type=type_, nullable=nullable)
        return
    # SQLite cannot alter a column: batch mode copies the table, which drops its triggers and
    # loses partial index predicates, so both are taken from sqlite_master and made again.
    bind = op.get_bind()
    saved = bind.exec_driver_sql(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'listing' AND type IN ('index', 'trigger') "
        "AND sql IS NOT NULL"
    ).all()
    for kind, name, _sql in saved:
        op.execute(f"DROP {kind.upper()} IF EXISTS {name}")
    with op.batch_alter_table("listing", recreate="always") as batch_op:
        for name, type_ in _DRAFT_OPTIONAL.items():
            batch_op.alter_column(name, existing_type=type_, nullable=nullable)
    for _kind, name, sql in saved:
        op.execute(f"DROP INDEX IF EXISTS {name}")
        op.execute(sql)


def upgrade() -> None:
    _set_nullable(True)


def downgrade() -> None:
    op.execute("DELETE FROM listing WHERE status = 'draft' AND (resource_type IS NULL OR region IS NULL OR "
               "unit_price IS NULL OR price_unit IS NULL OR quantity IS NULL OR available_from IS NULL OR "
               "available_until IS NULL)")  # fmt: skip
    _set_nullable(False)
