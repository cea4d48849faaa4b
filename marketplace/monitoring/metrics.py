"""`GET /metrics`: the node's Prometheus metrics, for its operators.

Counters and histograms come from every gunicorn worker (prometheus_client's multiprocess mode,
when PROMETHEUS_MULTIPROC_DIR is set); the figures that live in the database are read from it at
each scrape, so every worker answers the same and nothing needs aggregating.
"""

import ipaddress
import os

from flask import Blueprint, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import and_, case, func, select
from sqlmodel import Session

from ..accounts.auth import bearer_user
from ..db import get_session
from ..errors import Forbidden
from ..models import Listing, Node, Order, Stream, SyncCursor
from ..models.types import utcnow
from .history import lag_now
from .origins import DEFAULT_STALE_AFTER, is_unreachable

bp = Blueprint("metrics", __name__)


def _allowed_networks() -> list:
    raw = current_app.config.get("METRICS_ALLOW", "")
    return [ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip()]


def may_scrape() -> bool:
    """An operator's API token, or a request from an address in METRICS_ALLOW."""
    user = bearer_user()
    if user is not None and user.role == "operator":
        return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in _allowed_networks())


def _gauge(name: str, documentation: str, labels: list[str], rows) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for *values, number in rows:
        family.add_metric([str(value) for value in values], float(number or 0))
    return family


def database_figures(*, session: Session, node_code: str, role: str, stale_after: float) -> list[GaugeMetricFamily]:
    """The gauges read from the database: outbox, sync lag, listings and units, nodes (national)."""
    now = utcnow()
    lag = lag_now(session=session, role=role)
    waiting = lag["up"][1]
    whose = case((Listing.origin == node_code, "own"), else_="other")
    figures = [
        _gauge("cpn_outbox_waiting", "This node's events not yet acknowledged upstream", [], [(waiting,)]),
        _gauge("cpn_sync_lag_seconds", "Age of the oldest waiting event (up); since the feed last moved (down)",
               ["direction"], [(direction, seconds) for direction, (seconds, _waiting) in lag.items()]),
        _gauge("cpn_listings", "Listings held here, by origin (own or other), resource type and status",
               ["origin", "resource_type", "status"],
               session.execute(select(whose, Listing.resource_type, Listing.status, func.count())
                               .group_by(whose, Listing.resource_type, Listing.status)).all()),
        _gauge("cpn_units_listed", "Units of this node's published listings, by resource type", ["resource_type"],
               session.execute(select(Listing.resource_type, func.sum(Listing.quantity))
                               .where(Listing.origin == node_code, Listing.status == "published")
                               .group_by(Listing.resource_type)).all()),
    ]  # fmt: skip
    figures += _order_figures(session, now)
    if role == "national":
        nodes = session.execute(select(Node.role, Node.status, func.count()).group_by(Node.role, Node.status)).all()
        health = {
            cursor.stream.removeprefix("health:"): cursor
            for cursor in session.scalars(select(SyncCursor).where(SyncCursor.stream.like(Stream.health("%"))))
        }
        figures += [
            _gauge("cpn_nodes", "Nodes in the registry, by role and status", ["role", "status"], nodes),
            _gauge("cpn_origin_unreachable", "1 while an origin is unreachable (its listings hidden)", ["node"],
                   [(code, is_unreachable(health_of, now=now, stale_after=stale_after))
                    for code, health_of in health.items()]),
        ]  # fmt: skip
    return figures


def _order_figures(session: Session, now) -> list[GaugeMetricFamily]:
    """Orders by status (a hold past its expiry counts as expired, swept or not), and the units of the
    windows not yet over that are held and sold, by resource type."""
    lapsed = and_(Order.status == "held", Order.hold_expires_at <= now)
    status = case((lapsed, "expired"), else_=Order.status)
    by_status = session.execute(select(status, func.count()).group_by(status)).all()
    live = case((and_(Order.status == "held", Order.hold_expires_at > now), "held"),
                (Order.status == "confirmed", "sold"), else_=None)  # fmt: skip
    units = session.execute(
        select(Listing.resource_type, live, func.sum(Order.units)).join(Listing, Listing.id == Order.listing_id)
        .where(Order.ends_at > now, live.is_not(None)).group_by(Listing.resource_type, live)
    ).all()  # fmt: skip
    return [
        _gauge("cpn_orders", "Orders taken here, by status", ["status"], by_status),
        _gauge("cpn_units_held", "Units on hold now in windows not yet over, by resource type", ["resource_type"],
               [(kind, number) for kind, state, number in units if state == "held"]),
        _gauge("cpn_units_sold", "Units sold (confirmed) in windows not yet over, by resource type", ["resource_type"],
               [(kind, number) for kind, state, number in units if state == "sold"]),
    ]  # fmt: skip


class _DatabaseCollector:
    def __init__(self, figures):
        self.figures = figures

    def collect(self):
        yield from self.figures


@bp.get("/metrics")
def metrics_view():
    """Prometheus' text format: the counters of every worker and the database's figures."""
    if not may_scrape():
        raise Forbidden("Metrics are for this node's operators: an operator's API token, or an address in "
                        "METRICS_ALLOW.", reason="not_an_operator")  # fmt: skip
    config = current_app.config
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    figures = database_figures(session=get_session(), node_code=config["NODE_CODE"], role=config["NODE_ROLE"],
                               stale_after=config.get("SYNC_STALE_AFTER", DEFAULT_STALE_AFTER))  # fmt: skip
    database = CollectorRegistry()
    database.register(_DatabaseCollector(figures))
    return Response(generate_latest(counted) + generate_latest(database), mimetype=CONTENT_TYPE_LATEST)
