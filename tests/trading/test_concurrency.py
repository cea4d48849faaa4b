"""On PostgreSQL: buyers racing for the last units of one listing, in real concurrent transactions.

These tests commit, so they run on their own schema (dropped afterwards) with their own connections.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, create_engine

from marketplace.models import Listing, Order, OutboxEvent, User
from marketplace.sync.worker import SyncWorker
from marketplace.trading.capacity import capacity_of, live_spans, lock_listing, peak_usage
from marketplace.trading.refusals import CapacityShort
from marketplace.trading.services import place_order
from marketplace.trading.sweep import publish_stale

from ..conftest import PG_SCHEMA, _set_schema, admin_sql, migrated_app
from ..factories import make_listing, make_user

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="races need PostgreSQL")
BUYERS = 100


@pytest.fixture
def racing_database():
    """A migrated schema of its own and an engine with room for many connections; dropped afterwards."""
    from marketplace.config import normalize_database_url

    url, schema = normalize_database_url(os.environ["TEST_DATABASE_URL"]), f"{PG_SCHEMA}_race"
    admin_sql(url, f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    app = migrated_app(url, schema=schema, NODE_CODE="R44", NODE_ROLE="regional")
    # 30 connections for 100 buyers: the machine's PostgreSQL is shared; buyers wait for a connection, then race.
    engine = create_engine(url, pool_size=30, max_overflow=0, pool_timeout=120)
    _set_schema(engine, schema)
    try:
        yield app, sessionmaker(bind=engine, class_=Session, expire_on_commit=False)
    finally:
        engine.dispose()
        app.extensions["db"].engine.dispose()
        admin_sql(url, f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_a_hundred_buyers_for_ten_units_hold_exactly_ten(racing_database):
    app, sessions = racing_database
    with app.app_context(), sessions() as session:
        seller = make_user(session, role="seller", name="Seller")
        buyers = [make_user(session, role="buyer", name=f"Buyer {i}") for i in range(BUYERS)]
        listing = make_listing(session, seller, quantity=10)
        session.commit()
        listing_id, buyer_ids = listing.id, [b.id for b in buyers]
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    barrier = threading.Barrier(BUYERS)

    def buy(buyer_id: int) -> str:
        with app.app_context(), sessions() as session:
            buyer, listing = session.get(User, buyer_id), session.get(Listing, listing_id)
            session.rollback()  # start the race with no transaction open
            barrier.wait(timeout=120)
            try:
                place_order(session=session, listing=listing, buyer=buyer, units=1, start=start,
                            end=start + timedelta(hours=4), now=datetime.now(UTC), node_code="R44")  # fmt: skip
            except CapacityShort:
                session.rollback()
                return "short"
            session.commit()
            return "held"

    with ThreadPoolExecutor(BUYERS) as pool:
        outcomes = list(pool.map(buy, buyer_ids))
    assert outcomes.count("held") == 10 and outcomes.count("short") == BUYERS - 10
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Order).where(Order.status == "held")) == 10
        spans = live_spans(session, listing_id, now=datetime.now(UTC))
        assert peak_usage(spans, start, start + timedelta(hours=4)) == 10
    # Buyers who queued for the lock left the capacity for the worker: once it ran, the copy is exact.
    with app.app_context():
        publish_stale(app)
    with sessions() as session:
        listing, now = session.get(Listing, listing_id), datetime.now(UTC)
        assert not listing.capacity_stale
        assert listing.capacity == capacity_of(listing, live_spans(session, listing_id, now=now), now)
        assert min(i["free"] for i in listing.capacity) == 0


def _waiting_for_a_lock(session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(text("pg_stat_activity")).where(
        text("wait_event_type = 'Lock' AND datname = current_database()"))))  # fmt: skip


def test_an_order_that_queued_for_the_lock_leaves_the_capacity_stale_for_the_next_one_or_the_worker(
    racing_database,
):
    app, sessions = racing_database
    with app.app_context(), sessions() as session:
        seller, buyer = make_user(session, role="seller", name="Seller"), make_user(session, role="buyer", name="B")
        listing = make_listing(session, seller, quantity=10)
        session.commit()
        listing_id, buyer_id, first_version = listing.id, buyer.id, listing.version
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)

    def order(hours_later: int) -> None:
        with app.app_context(), sessions() as session:
            buyer, listing = session.get(User, buyer_id), session.get(Listing, listing_id)
            session.rollback()
            at = start + timedelta(hours=hours_later)
            place_order(session=session, listing=listing, buyer=buyer, units=3, start=at, end=at + timedelta(hours=2),
                        now=datetime.now(UTC), node_code="R44")  # fmt: skip
            session.commit()

    def events() -> int:
        with sessions() as session:
            return session.scalar(select(func.count()).select_from(OutboxEvent))

    def queued_order(hours_later: int) -> None:
        """An order placed while another transaction holds the listing: it queues for the lock."""
        with sessions() as holder, ThreadPoolExecutor(1) as pool:
            lock_listing(holder, listing_id)
            queued = pool.submit(order, hours_later)
            with sessions() as watcher:
                while not _waiting_for_a_lock(watcher) and not queued.done():
                    watcher.rollback()
            holder.commit()
            queued.result(timeout=60)

    before = events()
    queued_order(0)
    with sessions() as session:
        listing = session.get(Listing, listing_id)
        assert listing.capacity_stale and listing.capacity is None and listing.version == first_version
        assert events() == before  # nothing announced yet
    order(6)  # the next order finds the listing free: it publishes both
    with sessions() as session:
        listing, now = session.get(Listing, listing_id), datetime.now(UTC)
        assert not listing.capacity_stale and listing.version == first_version + 1 and events() == before + 1
        assert listing.capacity == capacity_of(listing, live_spans(session, listing_id, now=now), now)
        assert sorted({i["free"] for i in listing.capacity}) == [7, 10]

    queued_order(12)
    with app.app_context():
        assert publish_stale(app) == 1  # what the sync worker does every turn
        assert publish_stale(app) == 0
    with sessions() as session:
        listing, now = session.get(Listing, listing_id), datetime.now(UTC)
        assert not listing.capacity_stale and listing.version == first_version + 2 and events() == before + 2
        assert listing.capacity == capacity_of(listing, live_spans(session, listing_id, now=now), now)
        assert len([i for i in listing.capacity if i["free"] == 7]) == 3

    # The worker publishes it between its turns too, while it waits out a peer that failed.
    queued_order(18)
    SyncWorker(app)._pause(threading.Event(), 0.5)
    with sessions() as session:
        listing = session.get(Listing, listing_id)
        assert not listing.capacity_stale and listing.version == first_version + 3 and events() == before + 3
