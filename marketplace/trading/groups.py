"""Order groups (PROTOCOL.md §8): every part of an offer held, or none.

Parts at this node are held first, then the parts of each other origin, origins side by side (one
origin's parts one after another). When a part fails, every part already held is cancelled at once
and the group says which part failed and why. Unlike a service, this flow owns its transactions: each
step commits, so that no transaction is open while an origin is called.
"""

import secrets
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from flask import copy_current_request_context, g, has_request_context
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from ..errors import DomainError, NotFound
from ..identity.codes import InvalidCode, parse_code
from ..models import Order, OrderGroup, OrderGroupPart, RemoteOrder, User
from ..requestlog import current_request_id
from .refusals import OriginUnreachable
from .remote import call_origin, held_elsewhere, national_buyer, order_at_origin, record_remote_order
from .schemas import OrderSchema
from .services import cancel_order, listing_for_sale, place_order

RELEASE_REASON = "another part of its order group could not be held"


@dataclass(frozen=True)
class Placement:
    """Where and how this node places orders: its code and hold time, and the clock."""

    node_code: str
    hold_seconds: int
    now: datetime


def side_by_side(calls: list[Callable[[], object]]) -> list[object]:
    """Run calls at once, each in a copy of the request's context (the request id goes with it); their results.

    A call that raises a DomainError returns it instead, so one failure never hides the others' outcomes.
    """

    def guarded(call):
        try:
            return call()
        except DomainError as error:
            return error

    if len(calls) < 2 or not has_request_context():
        return [guarded(call) for call in calls]
    request_id = current_request_id()

    def in_context(call):
        @copy_current_request_context
        def run():
            g.request_id = request_id  # the copied request gets a fresh `g`: keep following the same request
            return guarded(call)

        return run

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(in_context(call)) for call in calls]
        return [future.result() for future in futures]


def find_group(*, session: Session, public_id: str, viewer) -> OrderGroup:
    """A group of the viewer's; NotFound for any other."""
    group = session.scalars(select(OrderGroup).where(OrderGroup.public_id == public_id.strip().lower())).first()
    if group is None or not getattr(viewer, "is_authenticated", False) or group.buyer_id != viewer.id:
        raise NotFound(f"No order group {public_id}.")
    return group


def _origin_of(position: int, code: str, node_code: str) -> str:
    try:
        parse_code(code)
    except InvalidCode as error:
        raise DomainError(error.message, messages={"parts": {position: {"listing_code": [error.message]}}}) from None
    return held_elsewhere(code, node_code) or node_code


def place_order_group(*, session: Session, buyer: User, parts: list[dict], key: str | None, fingerprint: str,
                      placement: Placement) -> tuple[OrderGroup, bool]:  # fmt: skip
    """Hold every part or none: (the group, whether it is new). A repeat of the same key and body answers the group."""
    if key and (earlier := _existing(session, buyer, key, fingerprint)):
        return earlier, False
    origins = [_origin_of(i, part["listing_code"], placement.node_code) for i, part in enumerate(parts)]
    person = national_buyer(buyer) if any(o != placement.node_code for o in origins) else None
    group = OrderGroup(public_id=secrets.token_hex(16), buyer_id=buyer.id, status="placing", key=key,
                       fingerprint=fingerprint, created_at=placement.now, updated_at=placement.now)  # fmt: skip
    try:
        with session.begin_nested():
            session.add(group)
            session.flush()
    except IntegrityError:  # the same key sent twice at once: the first one placed answers both
        session.rollback()
        return _existing(session, buyer, key, fingerprint), False
    rows = [OrderGroupPart(group_id=group.id, position=i, listing_code=part["listing_code"].strip().upper(),
                           origin=origins[i], units=part["units"], starts_at=part["start"], ends_at=part["end"],
                           expected_total=part.get("expected_total"), outcome="pending")
            for i, part in enumerate(parts)]  # fmt: skip
    session.add_all(rows)
    session.commit()  # the key is taken before anything is held
    failure = _hold_local(session, buyer, [r for r in rows if r.origin == placement.node_code], placement)
    if failure is None:
        failure = _hold_remote(session, buyer, person, group, [r for r in rows if r.origin != placement.node_code],
                               placement)  # fmt: skip
    if failure is not None:
        _release(session, buyer, rows, placement)
        row, error = failure
        group.status, group.key = "failed", None  # a failed group frees its key: a retry tries again
        group.failure = {"part": row.position, "listing_code": row.listing_code, "origin": row.origin,
                         "status": error.status, "reason": error.reason, "message": error.message,
                         "errors": error.messages, **error.extra}  # fmt: skip
    else:
        group.status = "held"
    group.updated_at = placement.now
    for row in rows:
        if row.outcome == "pending":
            row.outcome = "not_tried"
    session.commit()
    return group, True


def _existing(session: Session, buyer: User, key: str, fingerprint: str) -> OrderGroup | None:
    found = session.scalars(select(OrderGroup).where(OrderGroup.buyer_id == buyer.id, OrderGroup.key == key)).first()
    if found is not None and found.fingerprint != fingerprint:
        raise DomainError("This Idempotency-Key was sent before with another body.", field="Idempotency-Key",
                          location="headers", reason="idempotency_key_reused")  # fmt: skip
    return found


def _failed(row: OrderGroupPart, error: DomainError) -> tuple[OrderGroupPart, DomainError]:
    row.outcome, row.reason, row.message = "failed", error.reason, error.message
    return row, error


def _hold_local(session: Session, buyer: User, rows: list[OrderGroupPart], placement: Placement):
    """Hold this node's parts, each committed as it is held; the first part that fails, or None."""
    for row in rows:
        try:
            listing = listing_for_sale(session=session, code=row.listing_code, viewer=buyer,
                                       node_code=placement.node_code)  # fmt: skip
            order, _new = place_order(session=session, listing=listing, buyer=buyer, units=row.units,
                                      start=row.starts_at, end=row.ends_at, now=placement.now,
                                      node_code=placement.node_code, hold_seconds=placement.hold_seconds,
                                      expected_total=row.expected_total)  # fmt: skip
        except DomainError as error:
            session.rollback()
            failed = _failed(row, error)
            session.commit()
            return failed
        row.outcome, row.order_code = "held", order.code
        session.commit()
    return None


def _hold_remote(session, buyer, person, group, rows: list[OrderGroupPart], placement: Placement):
    """Hold the other origins' parts, origins side by side; the first part that failed, or None."""
    by_origin: dict[str, list[OrderGroupPart]] = defaultdict(list)
    for row in rows:
        by_origin[row.origin].append(row)
    asks = {row.position: {"listing_code": row.listing_code, "units": row.units, "start": row.starts_at,
                           "end": row.ends_at, "expected_total": row.expected_total} for row in rows}  # fmt: skip

    def one_origin(origin_rows):
        def run():
            answers = {}
            for row in origin_rows:
                try:
                    answers[row.position] = order_at_origin(origin=row.origin, buyer=person, window=asks[row.position],
                                                            idempotency_key=f"group-{group.public_id}-{row.position}")
                except DomainError as error:
                    answers[row.position] = error
                    break  # this origin's later parts are not tried
            return answers

        return run

    answers: dict[int, object] = {}
    for outcome in side_by_side([one_origin(origin_rows) for origin_rows in by_origin.values()]):
        answers |= outcome if isinstance(outcome, dict) else {}
    failures = []
    for row in rows:
        answer = answers.get(row.position)
        if isinstance(answer, DomainError):
            failures.append(_failed(row, answer))
        elif answer is not None:
            document, _new = answer
            record_remote_order(session=session, buyer_id=buyer.id, document=document, now=placement.now,
                                group_id=group.id)  # fmt: skip
            row.outcome, row.order_code = "held", document["code"]
    session.commit()
    return min(failures, key=lambda failure: failure[0].position) if failures else None


def _release(session: Session, buyer: User, rows: list[OrderGroupPart], placement: Placement) -> None:
    """Cancel every part that was held; a part whose origin cannot be told now waits for the sync worker."""
    for row in rows:
        if row.outcome == "held" and row.origin == placement.node_code:
            order = session.scalars(select(Order).where(Order.code == row.order_code)).one()
            cancel_order(session=session, order=order, actor=buyer, reason=RELEASE_REASON, now=placement.now)
            row.outcome = "cancelled"
            # One cancel per transaction: announcing it took the outbox counter, and waiting with it for the next
            # listing's lock, held by an order that waits for the counter in turn, would deadlock.
            session.commit()
    session.commit()
    remote = [row for row in rows if row.outcome == "held"]
    results = side_by_side([_cancel_call(row) for row in remote])
    for row, result in zip(remote, results, strict=True):
        if isinstance(result, DomainError):
            row.outcome, row.message = "release_pending", result.message
        else:
            record_remote_order(session=session, buyer_id=buyer.id, document=result, now=placement.now)
            row.outcome = "cancelled"
    session.commit()


def _cancel_call(row: OrderGroupPart):
    return lambda: call_origin(row.origin, "POST", f"/{row.order_code}/cancel", {"reason": RELEASE_REASON})[0]


def release_pending_parts(*, session: Session, now: datetime) -> int:
    """Cancel at their origins the parts of failed groups that could not be cancelled at once; how many were."""
    rows = session.scalars(select(OrderGroupPart).where(OrderGroupPart.outcome == "release_pending")).all()
    targets = [(row.id, row.origin, row.order_code) for row in rows]
    session.commit()  # no transaction is held while the origins are called
    released = 0
    for row_id, origin, code in targets:
        try:
            document, _status = call_origin(origin, "POST", f"/{code}/cancel", {"reason": RELEASE_REASON})
        except OriginUnreachable:
            continue
        except DomainError as error:  # e.g. the hold lapsed meanwhile: nothing is held any more
            document, message = None, error.message
        else:
            message = None
        row = session.get(OrderGroupPart, row_id)
        if document is not None:
            record = session.scalars(select(RemoteOrder).where(RemoteOrder.code == code)).one()
            record_remote_order(session=session, buyer_id=record.buyer_id, document=document, now=now)
        row.outcome, row.message = "cancelled", message
        session.commit()
        released += 1
    return released


def group_document(session: Session, group: OrderGroup) -> dict:
    """The group as the API answers it: each part with its order (the origin's document), if held."""
    rows = session.scalars(select(OrderGroupPart).where(OrderGroupPart.group_id == group.id)
                           .order_by(OrderGroupPart.position)).all()  # fmt: skip
    parts, totals = [], []
    for row in rows:
        order = None
        if row.order_code:
            remote = session.scalars(select(RemoteOrder).where(RemoteOrder.code == row.order_code)).first()
            local = None if remote else session.scalars(select(Order).where(Order.code == row.order_code)).first()
            order = remote.document if remote else OrderSchema().dump(local) if local else None
        if order and row.outcome == "held":
            totals.append((order["total"], order["currency"]))
        parts.append({"position": row.position, "listing_code": row.listing_code, "origin": row.origin,
                      "units": row.units, "starts_at": row.starts_at, "ends_at": row.ends_at, "outcome": row.outcome,
                      "reason": row.reason, "message": row.message, "order": order})  # fmt: skip
    currencies = {currency for _total, currency in totals}
    one_currency = len(currencies) == 1 and group.status == "held"
    return {"public_id": group.public_id, "status": group.status, "parts": parts, "failure": group.failure,
            "total": sum(total for total, _c in totals) if one_currency else None,
            "currency": currencies.pop() if one_currency else None, "created_at": group.created_at}  # fmt: skip


def groups_of(*, session: Session, buyer: User, limit: int = 20) -> list[dict]:
    """The buyer's offers held together, newest first, as the API answers each (its parts' orders and total)."""
    groups = session.scalars(select(OrderGroup).where(OrderGroup.buyer_id == buyer.id, OrderGroup.status == "held")
                             .order_by(OrderGroup.id.desc()).limit(limit)).all()  # fmt: skip
    return [group_document(session, group) for group in groups]
