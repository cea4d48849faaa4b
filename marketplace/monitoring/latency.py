"""Round trips between nodes, measured (PROTOCOL.md §10).

Every node times its parent's and national's /healthz at least once a minute; national times every
node's with its health probe and collects the links each node measured. A link's figure is the p50
and p95 of its samples over the last hour.
"""

import statistics
import time
from datetime import timedelta

from sqlalchemy import delete, select
from sqlmodel import Session

from ..db import insert_for
from ..federation.http import FetchRefused, fetch
from ..models import ReportedLink, RttSample
from ..models.types import utcnow

WINDOW = timedelta(hours=1)
KEEP = timedelta(hours=24)


def time_health(url: str) -> tuple[bool, float | None]:
    """(healthy, round trip in ms) of one GET of `url`/healthz; (False, None) when it cannot be reached."""
    started = time.perf_counter()
    try:
        healthy = fetch("GET", url.rstrip("/") + "/healthz").status_code == 200
    except FetchRefused:
        return False, None
    return healthy, round((time.perf_counter() - started) * 1000, 2)


def record_round_trips(*, session: Session, from_code: str, round_trips: dict[str, float]) -> None:
    """Keep measured round trips (ms by node code) and drop samples older than a day; flushes."""
    now = utcnow()
    session.add_all(RttSample(from_code=from_code, to_code=code, rtt_ms=ms, measured_at=now)
                    for code, ms in round_trips.items())  # fmt: skip
    session.execute(delete(RttSample).where(RttSample.measured_at < now - KEEP))
    session.flush()


def _percentile(values: list[float], share: float) -> float:
    if len(values) == 1:
        return values[0]
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1], 2)


def measured_links(*, session: Session, from_code: str) -> list[dict]:
    """This node's links over the last hour: p50, p95 and when last measured, by destination."""
    rows = session.execute(
        select(RttSample.to_code, RttSample.rtt_ms, RttSample.measured_at)
        .where(RttSample.from_code == from_code, RttSample.measured_at >= utcnow() - WINDOW)
        .order_by(RttSample.to_code, RttSample.measured_at)
    ).all()  # fmt: skip
    samples: dict[str, list] = {}
    for to_code, rtt, at in rows:
        samples.setdefault(to_code, []).append((rtt, at))
    return [{"from": from_code, "to": to_code, "rtt_ms_p50": _percentile([r for r, _ in values], 0.5),
             "rtt_ms_p95": _percentile([r for r, _ in values], 0.95), "measured_at": values[-1][1]}
            for to_code, values in sorted(samples.items())]  # fmt: skip


def store_reported_links(*, session: Session, node_code: str, links: list[dict]) -> int:
    """National: keep the links node `node_code` says it measured (only its own); flushes; how many."""
    own = [link for link in links if link["from"] == node_code]
    for link in own:
        statement = insert_for(session, ReportedLink).values(
            from_code=link["from"], to_code=link["to"], rtt_ms_p50=link["rtt_ms_p50"], rtt_ms_p95=link["rtt_ms_p95"],
            measured_at=link["measured_at"],
        )  # fmt: skip
        changed = {name: statement.excluded[name] for name in ("rtt_ms_p50", "rtt_ms_p95", "measured_at")}
        session.execute(statement.on_conflict_do_update(index_elements=["from_code", "to_code"], set_=changed))
    session.flush()
    return len(own)


def latency_matrix(*, session: Session, national_code: str) -> list[dict]:
    """National: its own links and every node's reported ones."""
    reported = [
        {
            "from": row.from_code,
            "to": row.to_code,
            "rtt_ms_p50": row.rtt_ms_p50,
            "rtt_ms_p95": row.rtt_ms_p95,
            "measured_at": row.measured_at,
        }
        for row in session.scalars(select(ReportedLink).order_by(ReportedLink.from_code, ReportedLink.to_code))
    ]
    return measured_links(session=session, from_code=national_code) + reported  # fmt: skip
