"""Who may apply and review, and for how long a code may be held: the registry's guards against squatting.

An application holds the code it asks for only while it waits, and only for the review period; a
person has a few applications waiting at most; nobody reviews their own application; a local
reviewer reviews only the province or industry they are charged with (`User.review_scope`).
"""

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlmodel import Session

from ..errors import Conflict, DomainError, Forbidden
from ..federation.http import is_public_address
from ..identity.industries import section_name
from ..identity.regions import province_name
from ..models import Node, NodeApplication, User
from ..models.types import utcnow

PENDING = ("submitted", "initial_approved")
# Names that never lead to a public host, whatever a resolver answers.
_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".intranet", ".corp")


@dataclass(frozen=True)
class RegistryRules:
    """The registry's settings, as the views read them from the node's configuration."""

    review_period: timedelta = timedelta(days=30)
    max_pending: int = 3
    # Development runs every node on http://127.0.0.1; elsewhere a node's URL is public https.
    allow_private_urls: bool = False


def lapse_overdue_applications(*, session: Session, review_period: timedelta, now: datetime | None = None) -> int:
    """Mark applications undecided for longer than `review_period` as lapsed, freeing their codes; how many."""
    now = now or utcnow()
    result = session.execute(
        update(NodeApplication)
        .where(NodeApplication.status.in_(PENDING), NodeApplication.created_at < now - review_period)
        .values(status="lapsed", decided_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount or 0


def lapses_at(application: NodeApplication, rules: RegistryRules) -> datetime | None:
    """When a waiting application lapses (None once decided)."""
    return application.created_at + rules.review_period if application.status in PENDING else None


def check_applicant(*, session: Session, applicant: User, rules: RegistryRules) -> None:
    """Refuse an applicant who has `max_pending` applications waiting already."""
    waiting = session.scalar(
        select(func.count())
        .select_from(NodeApplication)
        .where(NodeApplication.applicant_id == applicant.id, NodeApplication.status.in_(PENDING))
    )
    if waiting >= rules.max_pending:
        raise Conflict(
            f"You have {waiting} applications waiting for review; at most {rules.max_pending} may wait at a time. "
            "Wait for a decision before applying again.",
            reason="too_many_pending",
        )


def check_public_url(url: str, *, rules: RegistryRules) -> None:
    """A node's public URL is https on a public host, except in development."""
    if rules.allow_private_urls:
        return
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise DomainError("A node's public URL must be https.", field="public_url", reason="not_https")
    host = (parts.hostname or "").rstrip(".").lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        public = is_public_address(address)
    else:
        public = "." in host and host != "localhost" and not host.endswith(_PRIVATE_SUFFIXES)
    if not public:
        raise DomainError(
            f"{host or url} is not a public host: other nodes and people must reach the node on the internet.",
            field="public_url",
            reason="not_public",
        )


def review_scope_of(*, session: Session, application: NodeApplication) -> tuple[str | None, str | None]:
    """The province and the industry an application belongs to (an industry node's province is its parent's)."""
    if application.role == "regional":
        return application.province, None
    parent = session.get(Node, application.parent)
    return (parent.province if parent is not None else None), application.industry


def check_reviewer(*, session: Session, application: NodeApplication, reviewer: User) -> None:
    """Refuse a reviewer who submitted the application, or a local reviewer from elsewhere."""
    if application.applicant_id is not None and application.applicant_id == reviewer.id:
        raise Forbidden(
            f"You submitted application {application.id}; someone else must review it.",
            field="stage",
            reason="own_application",
        )
    if reviewer.role != "local_reviewer":
        return
    province, industry = review_scope_of(session=session, application=application)
    if not reviewer.review_scope:
        raise Forbidden(
            "Your account has no review scope yet: an operator sets the province or industry you review "
            "(flask users scope EMAIL 44|J).",
            field="stage",
            reason="no_review_scope",
        )
    if reviewer.review_scope not in (province, industry):
        raise Forbidden(
            f"You review {_scope_words(reviewer.review_scope)}; application {application.id} is "
            f"{_scope_words(industry)} in {_scope_words(province)}.",
            field="stage",
            reason="outside_review_scope",
        )


def may_review(*, session: Session, application: NodeApplication, reviewer: User) -> bool:
    """Whether `reviewer` passes `check_reviewer` for this application (for queues and buttons)."""
    try:
        check_reviewer(session=session, application=application, reviewer=reviewer)
    except Forbidden:
        return False
    return True


def _scope_words(scope: str | None) -> str:
    if scope is None:
        return "no scope"
    if scope.isdigit():
        return f"province {scope} ({province_name(scope)})"
    return f"industry {scope} ({section_name(scope)})"
