"""What operators look back on: sync lag samples for the 24-hour chart, and national's daily price index."""

import statistics
from datetime import timedelta

from sqlalchemy import delete, func, literal_column, select
from sqlmodel import Session

from ..db import insert_for
from ..models import Listing, OutboxEvent, PriceIndexDay, Stream, SyncCursor, SyncSample
from ..models.types import utcnow

KEEP = timedelta(days=2)


def lag_now(*, session: Session, role: str) -> dict[str, tuple[float, int]]:
    """(seconds, events waiting) by direction: up, the oldest own event not yet acknowledged upstream (on
    national: not yet in its feed); down, the time since national's feed was last read (not on national)."""
    now = utcnow()
    if role == "national":
        acked = session.scalar(select(SyncCursor.last_seq).where(SyncCursor.stream == Stream.OWN_TO_FEED)) or 0
    else:
        acked = session.scalar(
            select(func.max(SyncCursor.last_seq)).where(SyncCursor.stream.like(Stream.outgoing("%")))
        )
    waiting, oldest = session.execute(
        select(func.count(), func.min(OutboxEvent.created_at)).where(OutboxEvent.seq > (acked or 0))
    ).one()
    lag = {"up": ((now - oldest).total_seconds() if oldest else 0.0, waiting)}
    if role != "national":
        feed = session.get(SyncCursor, Stream.FEED)
        lag["down"] = ((now - feed.updated_at).total_seconds() if feed else 0.0, 0)
    return lag


def record_sync_sample(*, session: Session, role: str) -> None:
    """Keep this moment's lag for the chart; drop samples older than two days; flushes."""
    now = utcnow()
    for direction, (seconds, waiting) in lag_now(session=session, role=role).items():
        session.add(SyncSample(measured_at=now, direction=direction, lag_seconds=round(seconds, 2), waiting=waiting))
    session.execute(delete(SyncSample).where(SyncSample.measured_at < now - KEEP))
    session.flush()


def lag_history(*, session: Session, hours: int = 24) -> dict[str, list[tuple]]:
    """(moment, seconds) by direction over the last `hours`, oldest first."""
    rows = session.execute(
        select(SyncSample.direction, SyncSample.measured_at, SyncSample.lag_seconds)
        .where(SyncSample.measured_at >= utcnow() - timedelta(hours=hours)).order_by(SyncSample.measured_at)
    ).all()  # fmt: skip
    history: dict[str, list[tuple]] = {"up": [], "down": []}
    for direction, at, seconds in rows:
        history.setdefault(direction, []).append((at, seconds))
    return history


def _medians(session: Session) -> dict[str, tuple[int, int]]:
    """Median price per GPU-hour (fen) and the number of listings, by GPU model, of published current offers."""
    searchable = (Listing.status == literal_column("'published'"), Listing.stale_since.is_(None),
                  Listing.price_per_gpu_hour.is_not(None), Listing.gpu_model.is_not(None))  # fmt: skip
    if session.get_bind().dialect.name == "postgresql":
        median = func.percentile_cont(0.5).within_group(Listing.price_per_gpu_hour)
        rows = session.execute(select(Listing.gpu_model, median, func.count()).where(*searchable)
                               .group_by(Listing.gpu_model)).all()  # fmt: skip
        return {model: (round(value), count) for model, value, count in rows}
    prices: dict[str, list[int]] = {}
    for model, price in session.execute(select(Listing.gpu_model, Listing.price_per_gpu_hour).where(*searchable)):
        prices.setdefault(model, []).append(price)
    return {model: (round(statistics.median(values)), len(values)) for model, values in prices.items()}


def update_price_index(*, session: Session) -> int:
    """National: today's median price per GPU-hour by GPU model, kept as daily history; flushes; models."""
    today = utcnow().date()
    medians = _medians(session)
    for model, (median, count) in medians.items():
        statement = insert_for(session, PriceIndexDay).values(
            day=today, gpu_model=model, median_fen=median, listings=count
        )
        session.execute(statement.on_conflict_do_update(
            index_elements=["day", "gpu_model"],
            set_={"median_fen": statement.excluded.median_fen, "listings": statement.excluded.listings},
        ))  # fmt: skip
    session.flush()
    return len(medians)


def price_index(*, session: Session, days: int = 90) -> dict[str, list[tuple]]:
    """(day, median fen) by GPU model over the last `days`, oldest first."""
    since = utcnow().date() - timedelta(days=days)
    rows = session.execute(
        select(PriceIndexDay).where(PriceIndexDay.day >= since).order_by(PriceIndexDay.day)
    ).scalars()
    history: dict[str, list[tuple]] = {}
    for row in rows:
        history.setdefault(row.gpu_model, []).append((row.day, row.median_fen))
    return history
