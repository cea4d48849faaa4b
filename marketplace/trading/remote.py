"""Orders a buyer of this node places at other nodes (PROTOCOL.md §8, "Orders across nodes").

The origin of a listing holds its capacity and takes its orders; this node asks it on the buyer's behalf
over `/federation/v1/orders` (through federation's one outbound client: timeouts, the request id
carried) and keeps its own record of the answer. The calls to the origin hold no transaction here: the
callers read what they need, call, then write the record.
"""

import secrets
from datetime import datetime, timedelta

import httpx
from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import select
from sqlmodel import Session

from ..audit import actor_of, record_audit
from ..db import end_reading
from ..errors import DomainError, NotFound
from ..federation.client import TokenUnavailable, call_node
from ..federation.directory import directory_entry
from ..federation.http import FetchRefused, fetch
from ..federation.oidc import subject_of
from ..identity.codes import InvalidCode, parse_code
from ..listings.services import visible_listing
from ..models import Listing, RemoteOrder, User
from .pricing import Price
from .refusals import NationalIdentityRequired, NotForSale, OriginUnreachable
from .remote_schemas import OriginOrderSchema
from .schemas import QuoteSchema
from .services import Quote

SCOPE = "orders:write"
REFUND_WATCH = timedelta(days=7)  # a confirmed order is watched for a refund until a week after its end
_ERROR_KEYS = ("code", "status", "message", "errors", "reason")


def held_elsewhere(code: str, node_code: str) -> str | None:
    """The node a listing or order code belongs to when it is another node than this one; None otherwise."""
    try:
        owner = parse_code(code).node_code
    except InvalidCode:
        return None
    return owner if owner != node_code else None


def national_buyer(user: User) -> dict:
    """What the origin learns of the buyer: their national subject, name, organisation and email."""
    # At national every account is a national identity; elsewhere only accounts signed in through national are.
    subject = subject_of(user) if current_app.config["NODE_ROLE"] == "national" else user.national_subject
    if not subject:
        raise NationalIdentityRequired(
            "Orders at other nodes are placed for people signed in with the national identity. Sign out, "
            "choose “Sign in with the national identity” and reserve again (API clients: use a token of "
            "that account)."
        )
    return {"sub": subject, "name": user.name, "org": user.organization, "email": user.email}


def _origin_url(origin: str) -> str:
    try:
        entry = directory_entry(origin)
    except FetchRefused as error:
        raise OriginUnreachable(f"The origin node {origin} cannot be looked up now: {error}") from None
    if entry is None:
        raise NotFound(f"No node {origin} in the federation's directory.", field="listing_code")
    if entry.get("status") != "active" or not entry.get("public_url"):
        raise OriginUnreachable(f"The origin node {origin} is {entry.get('status')}: it takes no orders now.")
    return entry["public_url"].rstrip("/")


def _relay_refusal(origin: str, response: httpx.Response) -> DomainError:
    """The origin's refusal as this node's: same status, reason, messages and extra keys (e.g. `free`)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    status = response.status_code
    if not isinstance(body, dict) or not isinstance(body.get("message"), str) or status in (401, 403) or status >= 500:
        detail = body.get("message") if isinstance(body, dict) else None
        return OriginUnreachable(f"The origin node {origin} could not take the call ({status}: {detail or '-'}).")
    errors = body.get("errors") if isinstance(body.get("errors"), dict) else {}
    messages = next((value for value in errors.values() if isinstance(value, dict)), None)
    extra = {key: value for key, value in body.items() if key not in _ERROR_KEYS}
    reason = body.get("reason") if isinstance(body.get("reason"), str) else None
    return DomainError(body["message"], status=status, reason=reason, messages=messages, extra=extra)


def call_origin(origin: str, method: str, path: str, body: dict | None = None) -> tuple[dict, int]:
    """Call the origin's `/federation/v1/orders…` with a token for it: (its order document, the status)."""
    url = _origin_url(origin) + "/federation/v1/orders" + path
    end_reading()  # national read its registry for the URL: nothing held while the origin answers
    try:
        response = call_node(method, url, audience=origin, scope=SCOPE, json=body)
    except (FetchRefused, TokenUnavailable) as error:
        raise OriginUnreachable(f"The origin node {origin} cannot be reached: {error.message}") from None
    if response.status_code not in (200, 201):
        raise _relay_refusal(origin, response)
    try:
        document = response.json()
        OriginOrderSchema().load(document)
    except (ValueError, ValidationError) as error:
        raise OriginUnreachable(f"The origin node {origin} answered no order document: {error}") from None
    if document["origin"] != origin or held_elsewhere(document["code"], current_app.config["NODE_CODE"]) != origin:
        raise OriginUnreachable(f"The origin node {origin} answered an order of another node.")
    return document, response.status_code


def order_at_origin(*, origin: str, buyer: dict, window: dict, idempotency_key: str | None) -> tuple[dict, bool]:
    """Place an order at the origin for `buyer` (see national_buyer): (the origin's order, whether it is new).

    `window` holds listing_code, units, start, end and optionally expected_total and payment_provider.
    Without a key of the client's, a fresh one makes this one call safe to repeat at the origin.
    """
    body = {key: value for key, value in window.items() if value is not None}
    body |= {"start": window["start"].isoformat(), "end": window["end"].isoformat(), "buyer": buyer,
             "listing_code": window["listing_code"].strip().upper(),
             "idempotency_key": idempotency_key or secrets.token_hex(16)}  # fmt: skip
    document, status = call_origin(origin, "POST", "", body)
    return document, status == 201


def listing_copy_for_sale(*, session: Session, code: str, viewer) -> Listing:
    """This node's copy of another node's listing, if it is for sale (its origin has the last word)."""
    listing = visible_listing(session=session, code=code, user=viewer)
    if listing.status != "published":
        raise NotForSale(f"{listing.code} is {listing.status}: it is not for sale.")
    return listing


def quote_at_origin(*, origin: str, listing_code: str, window: dict) -> Quote:
    """The origin's quote for units of its listing in a window (its public quote: no token, nothing held)."""
    body = {"units": window["units"], "start": window["start"].isoformat(), "end": window["end"].isoformat()}
    url = f"{_origin_url(origin)}/api/v1/listings/{listing_code}/quote"
    end_reading()
    try:
        response = fetch("POST", url, json=body)
    except FetchRefused as error:
        raise OriginUnreachable(f"The origin node {origin} cannot be reached: {error.message}") from None
    if response.status_code != 200:
        raise _relay_refusal(origin, response)
    try:
        answer = QuoteSchema().load(response.json())
        price = Price(total=answer["total"], currency=answer["currency"], lines=answer["lines"])
    except (ValueError, KeyError, ValidationError) as error:
        raise OriginUnreachable(f"The origin node {origin} answered no quote: {error}") from None
    return Quote(price=price, free=answer.get("free", 0), available=answer.get("available", False),
                 listing_version=answer.get("listing_version", 0), as_of=answer.get("as_of"))  # fmt: skip


def record_remote_order(*, session: Session, buyer_id: int, document: dict, now: datetime,
                        group_id: int | None = None, record: RemoteOrder | None = None) -> RemoteOrder:  # fmt: skip
    """Keep (or update) this node's record of an order held at its origin, from the origin's document."""
    loaded = OriginOrderSchema().load(document)
    if record is None or record.code != loaded["code"]:
        record = session.scalars(select(RemoteOrder).where(RemoteOrder.code == loaded["code"])).first()
    if record is None:
        record = RemoteOrder(code=loaded["code"], origin=loaded["origin"], listing_code=loaded["listing_code"],
                             buyer_id=buyer_id, group_id=group_id, created_at=now)  # fmt: skip
        session.add(record)
        buyer = session.get(User, buyer_id)
        detail = {"origin": record.origin, "listing": record.listing_code, "units": loaded["units"]}
        record_audit(session=session, action="order.held_elsewhere", actor=actor_of(buyer),
                     object=f"order:{record.code}", detail=detail)  # fmt: skip
    elif record.status != loaded["status"]:
        record_audit(session=session, action=f"order.{loaded['status']}_elsewhere", actor=record.origin,
                     object=f"order:{record.code}", detail={"from": record.status, "to": loaded["status"]})  # fmt: skip
    record.status, record.units, record.total, record.currency = (
        loaded["status"], loaded["units"], loaded["total"], loaded["currency"])  # fmt: skip
    record.starts_at, record.ends_at, record.hold_expires_at = loaded["start"], loaded["end"], loaded["hold_expires_at"]
    record.payment_status, record.document = loaded["payment"]["status"], document
    record.refreshed_at, record.refresh_error, record.updated_at = now, None, now
    if group_id is not None:
        record.group_id = group_id
    session.flush()
    return record


def find_remote_order(*, session: Session, code: str, viewer) -> RemoteOrder:
    """The record of an order the viewer holds at another node (operators see all); NotFound otherwise."""
    record = session.scalars(select(RemoteOrder).where(RemoteOrder.code == code.strip().upper())).first()
    allowed = record is not None and getattr(viewer, "is_authenticated", False) and (
        viewer.id == record.buyer_id or viewer.role == "operator"
    )  # fmt: skip
    if not allowed:
        raise NotFound(f"No order {code.upper()}.")
    return record


def refresh_remote_order(*, session: Session, record: RemoteOrder, now: datetime) -> RemoteOrder:
    """Read the order again at its origin; when the origin cannot answer, the record says so and stays."""
    try:
        document, _status = call_origin(record.origin, "GET", f"/{record.code}")
    except OriginUnreachable as error:
        record.refresh_error = error.message
        session.flush()
        return record
    return record_remote_order(session=session, buyer_id=record.buyer_id, document=document, now=now, record=record)


def cancel_remote_order(*, session: Session, record: RemoteOrder, reason: str, now: datetime) -> RemoteOrder:
    """Cancel an order at its origin (the origin's rules decide); the record follows the origin's answer."""
    document, _status = call_origin(record.origin, "POST", f"/{record.code}/cancel", {"reason": reason})
    return record_remote_order(session=session, buyer_id=record.buyer_id, document=document, now=now, record=record)


def remote_orders_of(*, session: Session, buyer: User, cursor: int | None = None, limit: int = 50) -> list[RemoteOrder]:
    """The buyer's orders held at other nodes, newest first."""
    query = select(RemoteOrder).where(RemoteOrder.buyer_id == buyer.id)
    if cursor:
        query = query.where(RemoteOrder.id < cursor)
    return list(session.scalars(query.order_by(RemoteOrder.id.desc()).limit(limit)))


def open_remote_orders(*, session: Session, now: datetime, limit: int = 100) -> list[RemoteOrder]:
    """Records whose order may still change at the origin, the longest unrefreshed first."""
    still_open = (
        (RemoteOrder.status == "held")
        | ((RemoteOrder.status == "confirmed") & (RemoteOrder.ends_at > now - REFUND_WATCH))
        | (RemoteOrder.payment_status == "refund_pending")
    )
    query = select(RemoteOrder).where(still_open)
    return list(session.scalars(query.order_by(RemoteOrder.refreshed_at).limit(limit)))


def place_elsewhere(*, session: Session, buyer: User, origin: str, window: dict, key: str | None,
                    now: datetime) -> tuple[RemoteOrder, bool]:  # fmt: skip
    """Order at the origin for `buyer` and keep the record: (the record, whether the order is new).

    Owns its transaction: what was read is committed before the origin is called, the record after.
    """
    person, buyer_id = national_buyer(buyer), buyer.id
    session.commit()
    document, created = order_at_origin(origin=origin, buyer=person, window=window, idempotency_key=key)
    record = record_remote_order(session=session, buyer_id=buyer_id, document=document, now=now)
    session.commit()
    return record, created


def shown_document(record: RemoteOrder) -> dict:
    """The origin's order as this node answers it, with when it was last read there and any failure since."""
    return record.document | {"held_at": record.origin, "as_of": record.refreshed_at.isoformat(),
                              "refresh_error": record.refresh_error}  # fmt: skip
