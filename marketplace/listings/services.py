"""What happens to listings: publish, edit, pause, resume, retire, look up."""

from blinker import Namespace
from sqlalchemy import select
from sqlmodel import Session

from ..audit import SYSTEM, actor_of, record_audit
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..federation.outbox import record_change
from ..identity.codes import InvalidCode, mint_code, parse_code
from ..models import Listing, User
from ..models.types import utcnow
from .documents import render_document, rerender_derived
from .schemas import ListingSchema, document_rule_errors
from .vocabulary import price_per_gpu_hour

# status -> statuses a seller may move it to (retiring is its own verb)
_TRANSITIONS = {
    "draft": {"draft", "published"},
    "published": {"published", "paused"},
    "paused": {"paused", "published"},
    "retired": set(),
}
_signals = Namespace()
# Sent with (listing, session=...) after a change is applied to a listing and before its new version is
# rendered: packages above this one (trading) refuse changes that break what they hold (409 from a
# DomainError) and refresh derived fields (free capacity) without this package knowing of them.
listing_changing = _signals.signal("listing-changing")
_DOCUMENT_FIELDS = tuple(
    name for name, field in ListingSchema().fields.items() if not field.dump_only and name != "status"
)


def document_fields() -> tuple[str, ...]:
    """The fields of a listing document that a seller writes (everything but status and the read-only ones)."""
    return _DOCUMENT_FIELDS


class ListingStateError(Conflict):
    """A change the listing's status does not allow."""

    reason = "invalid_transition"

    def __init__(self, message: str, field: str = "status"):
        super().__init__(message, field=field)


def _apply_document(listing: Listing, data: dict) -> None:
    for name in _DOCUMENT_FIELDS:
        if name in data:
            setattr(listing, name, data[name])
    listing.price_per_gpu_hour = price_per_gpu_hour(
        unit_price=listing.unit_price, price_unit=listing.price_unit, gpu_count=listing.gpu_count
    )


def publish_listing(*, session: Session, seller: User, node_code: str, data: dict) -> Listing:
    """Create a listing (draft or published) from loaded data under a freshly minted code."""
    listing = Listing(
        code=mint_code(session=session, node_code=node_code),
        origin=node_code,
        version=1,
        status=data.get("status", "published"),
        seller_id=seller.id,
        seller_name=seller.name,
        seller_org=seller.organization,
    )
    _apply_document(listing, data)
    listing.document = render_document(listing)
    session.add(listing)
    session.flush()
    _announce(session, listing, was_visible=False)
    record_audit(session=session, action=f"listing.{'draft' if listing.status == 'draft' else 'publish'}",
                 actor=seller.email, object=f"listing:{listing.code}")  # fmt: skip
    return listing


def document_of(listing: Listing) -> dict:
    """The listing's editable fields as a dict, as a schema would load them."""
    return {name: getattr(listing, name) for name in _DOCUMENT_FIELDS}


def update_listing(*, session: Session, listing: Listing, changes: dict) -> Listing:
    """Apply a partial change; the merged document must still follow every rule."""
    if listing.status == "retired":
        raise ListingStateError("A retired listing cannot change.")
    new_status = changes.get("status", listing.status)
    if new_status not in _TRANSITIONS[listing.status]:
        raise ListingStateError(f"A {listing.status} listing cannot become {new_status}.")
    merged = document_of(listing) | {k: v for k, v in changes.items() if k != "status"}
    errors = document_rule_errors(merged | {"status": new_status})
    if errors:
        raise InvalidInput("The changed listing is not valid.", messages=errors)
    content_changed = any(getattr(listing, k) != v for k, v in merged.items())
    if not content_changed and new_status == listing.status:
        return listing  # nothing changed: no new version
    was_visible = listing.status != "draft"
    _apply_document(listing, merged)
    listing.status = new_status
    listing_changing.send(listing, session=session)
    _bump_version(listing)
    session.flush()
    _announce(session, listing, was_visible=was_visible)
    changed = sorted(name for name in changes if name != "status")
    record_audit(session=session, action="listing.update", actor=_seller_of(session, listing),
                 object=f"listing:{listing.code}", detail={"status": new_status, "fields": changed})  # fmt: skip
    return listing


def republish_listing(*, session: Session, listing: Listing) -> Listing:
    """Announce a change the origin made to a listing's derived fields (its free capacity): a new version."""
    restate_listing(listing)
    return announce_restated(session=session, listing=listing)


def restate_listing(listing: Listing) -> None:
    """republish_listing's first half: the new version of a listing whose derived fields changed, not yet
    written (a caller with rows of its own to write flushes them together, then calls announce_restated)."""
    listing.version += 1
    listing.updated_at = utcnow()
    listing.document = rerender_derived(listing)


def announce_restated(*, session: Session, listing: Listing) -> Listing:
    """republish_listing's second half: write the restated listing and its event in the outbox."""
    session.flush()
    _announce(session, listing, was_visible=listing.status != "draft")
    return listing


def set_listing_status(*, session: Session, listing: Listing, status: str) -> Listing:
    """Publish, pause or resume a listing."""
    return update_listing(session=session, listing=listing, changes={"status": status})


def retire_listing(*, session: Session, listing: Listing) -> Listing:
    """Retire a listing for good: it stays as a tombstone and its code is never reused."""
    if listing.status == "retired":
        raise ListingStateError("The listing is already retired.")
    was_visible = listing.status != "draft"
    listing.status = "retired"
    _bump_version(listing)
    session.flush()
    _announce(session, listing, was_visible=was_visible)
    record_audit(session=session, action="listing.retire", actor=_seller_of(session, listing),
                 object=f"listing:{listing.code}")  # fmt: skip
    return listing


def _seller_of(session: Session, listing: Listing) -> str:
    """The audit log's name for the seller who changes a listing (only they may)."""
    return actor_of(session.get(User, listing.seller_id)) if listing.seller_id else SYSTEM


def _announce(session: Session, listing: Listing, *, was_visible: bool) -> None:
    """Tell the federation, through the outbox, about a change others can see.

    Drafts stay on their node: a draft's changes are never sent, and a retired draft leaves no trace.
    """
    if listing.status == "retired":
        if was_visible:
            record_change(session=session, listing=listing, op="delete")
    elif listing.status != "draft":
        record_change(session=session, listing=listing, op="upsert")


def _bump_version(listing: Listing) -> None:
    """A change at the origin: a new version, a new time, a new stored document."""
    listing.version += 1
    listing.updated_at = utcnow()
    listing.document = render_document(listing)


def find_listing(*, session: Session, code: str) -> Listing | None:
    """The listing with this code (any case), or None; malformed codes find nothing."""
    try:
        parsed = parse_code(code)
    except InvalidCode:
        return None
    return session.scalars(select(Listing).where(Listing.code == str(parsed))).first()


def visible_listing(*, session: Session, code: str, user) -> Listing:
    """The listing `user` may see under this code; NotFound otherwise (someone else's draft is not there)."""
    listing = find_listing(session=session, code=code)
    if listing is None or not can_see(user, listing):
        raise NotFound(f"No listing {code.upper()}.", reason="listing_not_found")
    return listing


def managed_listing(*, session: Session, code: str, user) -> Listing:
    """The listing `user` may change: NotFound when they cannot see it, Forbidden when it is someone else's."""
    listing = visible_listing(session=session, code=code, user=user)
    if not can_manage(user, listing):
        raise Forbidden("Only the listing's seller can change it.")
    return listing


def can_see(user, listing: Listing) -> bool:
    """Drafts are their seller's; everything else is public."""
    return listing.status != "draft" or can_manage(user, listing)


def can_manage(user, listing: Listing) -> bool:
    """Only the seller who published a listing changes it."""
    return bool(user is not None and getattr(user, "is_authenticated", False)) and listing.seller_id == user.id


def listings_of_seller(*, session: Session, seller: User) -> list[Listing]:
    """All of a seller's listings, drafts and tombstones too, newest first."""
    return list(session.scalars(select(Listing).where(Listing.seller_id == seller.id).order_by(Listing.id.desc())))
