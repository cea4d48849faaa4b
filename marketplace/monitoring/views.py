"""Pages for operators (`/operations`, every node) and the federation at a glance (`/federation`, national)."""

from datetime import date, datetime, time, timedelta

from flask import Blueprint, current_app, render_template, request
from sqlalchemy import func, literal_column, select
from sqlmodel import Session

from ..accounts.auth import page_role_required
from ..db import get_session
from ..errors import NotFound
from ..federation.directory import is_national
from ..i18n import _
from ..i18n.words import term
from ..models import Listing
from ..models.types import CST, utcnow
from ..registry.services import NationalEntry, list_nodes
from .audit_log import search_audit
from .charts import line_chart
from .health import problems
from .history import lag_history, price_index
from .latency import latency_matrix, measured_links
from .origins import DEFAULT_STALE_AFTER
from .sync_status import sync_status

bp = Blueprint("monitoring", __name__)
PRICE_INDEX_MODELS = 5  # the most listed GPU models get a line each


def _stale_after() -> float:
    return current_app.config.get("SYNC_STALE_AFTER", DEFAULT_STALE_AFTER)


def _listing_figures(session: Session, node_code: str) -> list:
    """This node's own listings by resource type: how many published, paused, drafts, and units published."""
    return session.execute(
        select(Listing.resource_type, Listing.status, func.count(), func.sum(Listing.quantity))
        .where(Listing.origin == node_code).group_by(Listing.resource_type, Listing.status)
        .order_by(Listing.resource_type, Listing.status)
    ).all()  # fmt: skip


@bp.get("/operations")
@page_role_required("operator")
def operations():
    """A node's operations: health, sync both ways with 24 hours of lag, errors, capacity, round trips, audit."""
    session, config = get_session(), current_app.config
    status = sync_status(session=session, node_code=config["NODE_CODE"], role=config["NODE_ROLE"],
                         stale_after=_stale_after())  # fmt: skip
    now = utcnow()
    history = lag_history(session=session, hours=24)
    chart = line_chart({term(direction): values for direction, values in history.items() if values},
                       tick_label=_("%(value)s s"), start=now - timedelta(hours=24), end=now)  # fmt: skip
    filters = {name: request.args[name].strip() for name in ("actor", "action", "object")
               if request.args.get(name, "").strip()}  # fmt: skip
    audit = search_audit(session=session, filters=filters | {"limit": 50})
    links = measured_links(session=session, from_code=config["NODE_CODE"])
    return render_template("monitoring/operations.html", problems=problems(), status=status, chart=chart,
                           history=history, figures=_listing_figures(session, config["NODE_CODE"]), links=links,
                           audit=audit["entries"], filters=filters)  # fmt: skip


def _capacity(session: Session, column) -> list:
    """Published, current offers grouped by `column` (where they have one): listings, units."""
    searchable = (Listing.status == literal_column("'published'"), Listing.stale_since.is_(None), column.is_not(None))
    return session.execute(select(column, func.count(), func.sum(Listing.quantity)).where(*searchable)
                           .group_by(column).order_by(func.count().desc()).limit(20)).all()  # fmt: skip


@bp.get("/federation")
def federation():
    """National: every node with health, lag and round trip; capacity; the price index; the latency matrix."""
    if not is_national():
        raise NotFound("The federation at a glance is national's page.")
    session, config = get_session(), current_app.config
    national = NationalEntry(code=config["NODE_CODE"], public_url=config["PUBLIC_URL"], jwks={})
    origins = {row["node_code"]: row for row in sync_status(session=session, node_code=national.code, role="national",
                                                            stale_after=_stale_after())["origins"]}  # fmt: skip
    matrix = latency_matrix(session=session, national_code=national.code)
    from_national = {link["to"]: link for link in matrix if link["from"] == national.code}
    history = price_index(session=session)
    busiest = sorted(history, key=lambda model: -len(history[model]))[:PRICE_INDEX_MODELS]
    chart = line_chart({model: [(_midday(day), fen / 100) for day, fen in history[model]] for model in busiest},
                       tick_label="¥%(value)s", date_labels=True)  # fmt: skip
    return render_template(
        "monitoring/federation.html", nodes=list_nodes(session=session, national=national), origins=origins,
        rtt=from_national, matrix=matrix, chart=chart, history={model: history[model] for model in busiest},
        by_type=_capacity(session, Listing.resource_type), by_model=_capacity(session, Listing.gpu_model),
        by_region=_capacity(session, Listing.region),
    )  # fmt: skip


def _midday(day: date) -> datetime:
    """Where a day's figure sits on a time axis: its noon in China Standard Time."""
    return datetime.combine(day, time(12), tzinfo=CST)
