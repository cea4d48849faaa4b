"""accounts: a session nonce that sign-out renews, local reviewers' scope; applications by applicant

Revision ID: 0013
Revises: 0016
Create Date: 2026-12-01 01:30:00
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing sessions carry no nonce in their cookie, so they end here: everyone signs in once more.
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_nonce", sa.String(length=32), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("review_scope", sa.String(length=2), nullable=True))
    # Every existing account gets a nonce of its own (an empty one would never match a cookie).
    bind = op.get_bind()
    user = sa.table("user", sa.column("id", sa.Integer), sa.column("session_nonce", sa.String))
    for (user_id,) in bind.execute(sa.select(user.c.id)).all():
        bind.execute(user.update().where(user.c.id == user_id).values(session_nonce=secrets.token_hex(16)))
    with op.batch_alter_table("node_application", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_node_application_applicant_id"), ["applicant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("node_application", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_node_application_applicant_id"))
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("review_scope")
        batch_op.drop_column("session_nonce")
