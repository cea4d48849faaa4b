"""The audit log's one writer: who did what to which object, when, from which address, in which request.

Services call `record_audit` in the unit of work of the change itself, so an entry commits with
what it records, or not at all. Rows are never changed: the database refuses updates and deletes.
"""

import json
from functools import cache

from flask import has_request_context, request
from sqlalchemy import Table, bindparam, select
from sqlmodel import Session

from .models import AuditEntry
from .models.types import utcnow
from .requestlog import current_request_id

SYSTEM = "system"


def actor_of(user) -> str:
    """How the log names a person: their email (accounts of national's identity included)."""
    return getattr(user, "email", None) or SYSTEM


def _entry(*, action: str, actor: str, object: str, detail: dict | None) -> dict:
    address = (request.remote_addr or "") if has_request_context() else ""
    return {"at": utcnow(), "actor": actor[:254], "action": action, "object": object[:120],
            "detail": json.dumps(detail, ensure_ascii=False, default=str) if detail else "",
            "address": address[:64], "request_id": current_request_id() or ""}  # fmt: skip


def record_audit(*, session: Session, action: str, actor: str, object: str = "", detail: dict | None = None) -> None:
    """Add one entry; the address and request id come from the request being served, if any."""
    session.add(AuditEntry(**_entry(action=action, actor=actor, object=object, detail=detail)))


_INSERT = AuditEntry.__table__.insert()


def insert_audit(*, session: Session, action: str, actor: str, object: str = "", detail: dict | None = None,
                 beside: tuple[Table, dict] | None = None) -> None:  # fmt: skip
    """record_audit's entry written at once, no object in the session (for hot paths: orders).

    `beside`: (table, every column but the key) of a row the change itself writes, inserted with the
    entry, in the same statement on PostgreSQL (one round trip), just before it elsewhere.
    """
    entry = _entry(action=action, actor=actor, object=object, detail=detail)
    if beside is None:
        session.execute(_INSERT, entry)
    elif session.get_bind().dialect.name == "postgresql":
        table, row = beside
        session.execute(_insert_beside(table), entry | {f"beside_{name}": value for name, value in row.items()})
    else:
        session.execute(beside[0].insert(), beside[1])
        session.execute(_INSERT, entry)


@cache
def _insert_beside(table: Table):
    """PostgreSQL: `WITH beside AS (INSERT INTO table …) INSERT INTO audit_entry …`, built once per table."""
    beside = table.insert().values({column.name: bindparam(f"beside_{column.name}", type_=column.type)
                                    for column in table.columns if not column.primary_key})  # fmt: skip
    return _insert_bound().add_cte(beside.cte("beside"))


def _insert_bound():
    """The audit entry's INSERT with a bound parameter per column, named as the column."""
    return _INSERT.values({column.name: bindparam(column.name, type_=column.type)
                           for column in AuditEntry.__table__.columns if not column.primary_key})  # fmt: skip


def insert_with_audit(*, session: Session, table: Table, row: dict, then: tuple[Table, str, dict], action: str,
                      actor: str, object: str = "", detail: dict | None = None) -> int:  # fmt: skip
    """Insert `row` into `table`, then a row that refers to it (`then`: its table, the column that takes the
    new row's id, its other columns), and the audit entry: the new row's id. One statement on PostgreSQL
    (the hot path of placing an order), three in order elsewhere; no object in the session.
    """
    entry = _entry(action=action, actor=actor, object=object, detail=detail)
    then_table, key, then_row = then
    if session.get_bind().dialect.name == "postgresql":
        params = {f"first_{name}": value for name, value in row.items()}
        params |= {f"then_{name}": value for name, value in then_row.items()} | entry
        return session.execute(_insert_chain(table, then_table, key), params).scalar_one()
    new_id = session.execute(table.insert().values(row)).inserted_primary_key[0]
    session.execute(then_table.insert().values({key: new_id, **then_row}))
    session.execute(_INSERT, entry)
    return new_id


@cache
def _insert_chain(table: Table, then_table: Table, key: str):
    """PostgreSQL: `WITH first AS (INSERT … RETURNING id), then AS (INSERT … SELECT first.id, …),
    entry AS (INSERT INTO audit_entry …) SELECT id FROM first`, built once per pair of tables."""
    first = table.insert().values({column.name: bindparam(f"first_{column.name}", type_=column.type)
                                   for column in table.columns if not column.primary_key})  # fmt: skip
    first = first.returning(table.c.id).cte("first")
    columns = [column for column in then_table.columns if not column.primary_key and column.name != key]
    then = then_table.insert().from_select(
        [key, *(column.name for column in columns)],
        select(first.c.id, *(bindparam(f"then_{column.name}", type_=column.type) for column in columns)),
    ).cte("then")  # fmt: skip
    return select(first.c.id).add_cte(then).add_cte(_insert_bound().cte("entry"))
