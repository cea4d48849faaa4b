"""The registry's verbs: submit, review, suspend, reactivate, list, resolve."""

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlmodel import Session

from ..audit import actor_of, record_audit
from ..errors import Conflict, NotFound
from ..federation.scopes import redirect_uris_for
from ..identity.codes import NATIONAL_CODE, parse_code
from ..models import Listing, Node, NodeApplication, NodeStatusChange, Order, RemoteOrder, Review, User
from ..models.types import CST, utcnow
from .policy import (
    PENDING,
    RegistryRules,
    check_applicant,
    check_public_url,
    check_reviewer,
    lapse_overdue_applications,
)

REVIEWER_FOR_STAGE = {"initial": "local_reviewer", "final": "national_reviewer"}
# application status -> the stage due next, by role
_DUE = {
    ("regional", "submitted"): "final",
    ("industry", "submitted"): "initial",
    ("industry", "initial_approved"): "final",
}


class RegistryConflict(Conflict):
    """The registry's state does not allow this; `field` names what is in the way."""

    reason = "registry_conflict"

    def __init__(self, message: str, field: str | None = None, status: int = 409):
        super().__init__(message, field=field, status=status)


@dataclass
class NationalEntry:
    """The national node as the directory shows it: it applies to no one."""

    code: str
    public_url: str
    jwks: dict
    role: str = "national"
    parent: None = None
    name: str = "National computing internet service node"
    province: None = None
    industry: None = None
    status: str = "active"
    updated_at: None = None


def due_stage(application: NodeApplication) -> str | None:
    """The review stage that is due, or None once decided."""
    return _DUE.get((application.role, application.status))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find_node(*, session: Session, code: str) -> Node | None:
    """A node of the directory by its code."""
    return session.get(Node, code.upper())


def directory_node(*, session: Session, code: str) -> Node:
    """A node of the directory by its code; NotFound when there is none."""
    node = find_node(session=session, code=code)
    if node is None:
        raise NotFound(f"No node {code.upper()} in the directory.", reason="node_not_found")
    return node


def directory_entry(*, session: Session, national: NationalEntry, code: str) -> Node | NationalEntry:
    """Any entry of the directory, national's included; NotFound when there is none."""
    return national if code.upper() == national.code else directory_node(session=session, code=code)


def application_by_id(*, session: Session, application_id: int) -> NodeApplication:
    """An application by its number; NotFound when there is none."""
    application = session.get(NodeApplication, application_id)
    if application is None:
        raise NotFound(f"No application {application_id}.", reason="application_not_found")
    return application


def _code_conflicts(session: Session, data: dict, *, ignore_application: int | None = None) -> None:
    """Refuse codes and provinces that are taken, and parents that cannot take children."""
    code = data["requested_code"]
    if data["role"] == "regional":
        holder = session.scalars(select(Node).where(Node.role == "regional", Node.province == data["province"])).first()
        if holder is not None:
            raise RegistryConflict(
                f"Province {data['province']} has its regional node already ({holder.code}, {holder.status}).",
                "province",
            )
    if code == NATIONAL_CODE or session.get(Node, code) is not None:
        raise RegistryConflict(f"{code} is issued to a node already; node codes are never reused.", "requested_code")
    others = select(NodeApplication).where(
        NodeApplication.requested_code == code, NodeApplication.id != (ignore_application or -1)
    )
    # Only a waiting application holds its code; a rejected or lapsed one frees it (an issued code is
    # a node's, checked above).
    for other in session.scalars(others.where(NodeApplication.status.in_(PENDING))):
        raise RegistryConflict(f"{code} is requested by application {other.id}, still under review.", "requested_code")
    if data["role"] == "industry":
        parent = session.get(Node, data["parent"])
        if parent is None or parent.role != "regional":
            raise RegistryConflict(f"{data['parent']} is not a regional node in the directory.", "parent", 422)
        if parent.status != "active":
            raise RegistryConflict(f"The parent node {parent.code} is {parent.status}.", "parent", 422)


def submit_application(
    *, session: Session, data: dict, applicant: User, rules: RegistryRules
) -> tuple[NodeApplication, str]:
    """Store a checked application of a signed-in `applicant`; return it with its one-time access token."""
    lapse_overdue_applications(session=session, review_period=rules.review_period)
    check_public_url(data["public_url"], rules=rules)
    check_applicant(session=session, applicant=applicant, rules=rules)
    _code_conflicts(session, data)
    token = "app_" + secrets.token_urlsafe(24)
    application = NodeApplication(
        role=data["role"],
        requested_code=data["requested_code"],
        province=data.get("province"),
        industry=data.get("industry"),
        parent=data["parent"],
        construction_entity=data["construction_entity"],
        registered_capital_cny=data["construction_entity"]["registered_capital_cny"],
        operating_entity=data["operating_entity"],
        contact=data["contact"],
        public_url=data["public_url"].rstrip("/"),
        jwks=data["jwks"],
        access_token_hash=_digest(token),
        applicant_id=applicant.id,
    )
    session.add(application)
    session.flush()
    record_audit(
        session=session,
        action="application.submit",
        actor=actor_of(applicant) if applicant else "anonymous",
        object=f"application:{application.id}",
        detail={"requested_code": application.requested_code},
    )
    return application, token


def application_by_token(*, session: Session, application_id: int, token: str) -> NodeApplication | None:
    """The application if `token` is its access token."""
    application = session.get(NodeApplication, application_id)
    if application is None or not secrets.compare_digest(application.access_token_hash, _digest(token)):
        return None
    return application


def reviews_of(*, session: Session, application: NodeApplication) -> list[Review]:
    """An application's recorded decisions, oldest first."""
    return list(session.scalars(select(Review).where(Review.application_id == application.id).order_by(Review.id)))


def review_application(
    *,
    session: Session,
    application: NodeApplication,
    reviewer: User,
    stage: str,
    decision: str,
    reason: str,
    rules: RegistryRules,
) -> Review:
    """Record a decision at the stage that is due; the last approval makes the node active."""
    lapse_overdue_applications(session=session, review_period=rules.review_period)
    due = due_stage(application)
    if due is None:
        raise RegistryConflict(f"Application {application.id} is {application.status} already.", "stage")
    if stage != due:
        raise RegistryConflict(f"The {due} review is due, not the {stage} one.", "stage")
    if reviewer.role != REVIEWER_FOR_STAGE[stage]:
        raise RegistryConflict(f"The {stage} review is for a {REVIEWER_FOR_STAGE[stage]}.", "stage", 403)
    check_reviewer(session=session, application=application, reviewer=reviewer)
    final = decision == "reject" or stage == "final"
    new_status = ("approved" if decision == "approve" else "rejected") if final else "initial_approved"
    if new_status == "approved":
        _code_conflicts(session, _as_data(application), ignore_application=application.id)
    # Only one decision wins a race: the update applies only while the status is unchanged.
    won = session.execute(
        update(NodeApplication)
        .where(NodeApplication.id == application.id, NodeApplication.status == application.status)
        .values(status=new_status, decided_at=utcnow() if final else None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not won:
        raise RegistryConflict(f"Application {application.id} was decided meanwhile.", "stage")
    review = Review(
        application_id=application.id,
        stage=stage,
        decision=decision,
        reason=reason,
        reviewer_id=reviewer.id,
        reviewer_email=reviewer.email,
        reviewer_role=reviewer.role,
    )
    session.add(review)
    record_audit(session=session, action=f"review.{decision}", actor=reviewer.email,
                 object=f"application:{application.id}", detail={"stage": stage, "reason": reason})  # fmt: skip
    if new_status == "approved":
        session.add(_node_from(application))
    session.flush()
    session.refresh(application)
    return review


def _as_data(application: NodeApplication) -> dict:
    return {"requested_code": application.requested_code, "role": application.role,
            "province": application.province, "parent": application.parent}  # fmt: skip


def _node_from(application: NodeApplication) -> Node:
    return Node(
        code=application.requested_code,
        role=application.role,
        parent=application.parent,
        name=application.operating_entity["name"],
        province=application.province,
        industry=application.industry,
        public_url=application.public_url,
        jwks=application.jwks,
        redirect_uris=redirect_uris_for(application.public_url),
        status="active",
        application_id=application.id,
    )


def set_node_status(*, session: Session, node: Node, status: str, reason: str, actor: str) -> Node:
    """Suspend or reactivate a node, recording who and why."""
    if node.status == status:
        raise RegistryConflict(f"{node.code} is {status} already.", "status")
    node.status = status
    node.updated_at = utcnow()
    session.add(NodeStatusChange(node_code=node.code, status=status, reason=reason, actor=actor))
    action = "node.suspend" if status == "suspended" else "node.reactivate"
    record_audit(session=session, action=action, actor=actor, object=f"node:{node.code}", detail={"reason": reason})
    session.flush()
    return node


def status_changes(*, session: Session, node: Node) -> list[NodeStatusChange]:
    """A node's suspensions and reactivations, oldest first."""
    query = select(NodeStatusChange).where(NodeStatusChange.node_code == node.code).order_by(NodeStatusChange.id)
    return list(session.scalars(query))


def list_nodes(*, session: Session, national: NationalEntry, filters: dict | None = None) -> list:
    """The directory: national first, then regional and industry nodes by code."""
    filters = filters or {}
    query = select(Node).order_by(Node.role.desc(), Node.code)
    for name in ("role", "status", "parent"):
        if filters.get(name):
            query = query.where(getattr(Node, name) == filters[name])
    nodes: list = list(session.scalars(query))
    if all(filters.get(k) in (None, v) for k, v in (("role", "national"), ("status", "active"), ("parent", None))):
        nodes.insert(0, national)
    return nodes


def node_tree(*, session: Session, national: NationalEntry) -> dict:
    """National, its regional nodes, and their industry nodes, as nested dicts."""
    nodes = list(session.scalars(select(Node).order_by(Node.code)))
    children: dict[str | None, list] = {}
    for node in nodes:
        children.setdefault(node.parent, []).append(node)

    def branch(node) -> dict:
        return {"node": node, "children": [branch(child) for child in children.get(node.code, [])]}

    return branch(national)


def resolve_code(*, session: Session, national: NationalEntry, code: str, viewer=None) -> dict:
    """Where a code comes from, and what it names when this node knows (InvalidCode for bad codes, NotFound for
    unknown nodes). A code names a listing or an order (§2); orders stay at their origin, so an order is known
    here only when this node is its origin or placed it for one of its buyers, and it is told only to a viewer
    who may see it (its buyer, its seller, an operator): to anyone else an order's code names nothing known."""
    parsed = parse_code(code)
    origin = directory_entry(session=session, national=national, code=parsed.node_code)
    listing = session.scalars(select(Listing).where(Listing.code == str(parsed))).first()
    known_order = listing is None and _order_seen_by(session, str(parsed), viewer)
    return {
        "code": str(parsed),
        "kind": "listing" if listing else "order" if known_order else None,
        "order_url": f"{origin.public_url}/orders/{parsed}",
        "origin": origin.code,
        "origin_role": origin.role,
        "origin_status": origin.status,
        "origin_url": origin.public_url,
        "listing_url": f"{origin.public_url}/listings/{parsed}",
        "listing": {"status": listing.status, "version": listing.version} if listing else None,
    }


def _order_seen_by(session: Session, code: str, viewer) -> bool:
    """Whether `code` is an order this node holds or placed, and `viewer` may see it."""
    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return False
    everyone = viewer.role == "operator"
    here = select(Order.id).where(Order.code == code)
    elsewhere = select(RemoteOrder.id).where(RemoteOrder.code == code)
    if not everyone:
        here = here.where((Order.buyer_id == viewer.id) | (Order.seller_id == viewer.id))
        elsewhere = elsewhere.where(RemoteOrder.buyer_id == viewer.id)
    return session.scalar(select(here.union(elsewhere).subquery().c.id).limit(1)) is not None


def overview(*, session: Session) -> dict:
    """Counts for the operators' overview: nodes, waiting applications, decisions per day (China Standard Time)."""
    nodes = session.execute(select(Node.role, Node.status, func.count()).group_by(Node.role, Node.status)).all()
    waiting = session.execute(
        select(NodeApplication.role, NodeApplication.status, func.count())
        .where(NodeApplication.status.in_(PENDING))
        .group_by(NodeApplication.role, NodeApplication.status)
    ).all()
    by_stage = {"initial": 0, "final": 0}
    for role, status, count in waiting:
        by_stage[_DUE[(role, status)]] += count
    decisions: dict[str, dict[str, int]] = {}
    for review in session.scalars(select(Review).order_by(Review.id)):
        day = decisions.setdefault(review.created_at.astimezone(CST).date().isoformat(), {"approve": 0, "reject": 0})
        day[review.decision] += 1
    return {
        "nodes": {(role, status): count for role, status, count in nodes},
        "waiting": by_stage,
        "decisions": decisions,
    }
