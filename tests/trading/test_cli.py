"""`flask orders list|show|expire`, and the worker's sweep of lapsed holds."""

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from marketplace.trading.services import place_order
from marketplace.trading.sweep import sweep_holds

from ..factories import make_listing


@pytest.fixture
def runner(app, db_session):
    return app.test_cli_runner()


@pytest.fixture
def orders(db_session, seller, buyer):
    """A live hold of 1 unit and a lapsed one of 3, on a 4-unit listing."""
    listing = make_listing(db_session, seller, quantity=4)
    # An hour before the current whole hour: its 60 s hold has lapsed even in an hour's first minute.
    earlier = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    start, end = earlier + timedelta(hours=3), earlier + timedelta(hours=7)

    def place(units, hold_seconds, now):
        return place_order(session=db_session, listing=listing, buyer=buyer, units=units, start=start, end=end,
                           now=now, node_code="R44", hold_seconds=hold_seconds)[0]  # fmt: skip

    live = place(1, 3600, datetime.now(UTC))
    lapsed = place(3, 60, earlier)  # placed as of an hour ago: the published capacity still counts it
    return listing, lapsed, live


def test_expire_sweeps_lapsed_holds_and_says_what_it_freed(runner, db_session, orders):
    listing, lapsed, live = orders
    version = listing.version
    result = runner.invoke(args=["orders", "expire"])
    assert result.exit_code == 0, result.output
    assert f"expired {lapsed.code}: freed 3 of {listing.code}" in result.output
    assert "1 lapsed hold expired" in result.output
    db_session.refresh(lapsed)
    db_session.refresh(listing)
    assert lapsed.status == "expired" and listing.version == version + 1
    assert min(i["free"] for i in orjson.loads(listing.document)["capacity"]) == 3  # only the live hold's unit
    again = runner.invoke(args=["orders", "expire"])
    assert "0 lapsed holds expired" in again.output


def test_list_and_show(runner, orders):
    _listing, lapsed, live = orders
    listed = runner.invoke(args=["orders", "list"])
    assert listed.exit_code == 0 and lapsed.code in listed.output and live.code in listed.output
    shown = runner.invoke(args=["orders", "show", live.code.lower()])
    assert shown.exit_code == 0 and "held" in shown.output and "placed" in shown.output
    missing = runner.invoke(args=["orders", "show", "R44-00000ZZZ-0"])
    assert missing.exit_code != 0 and "no order" in missing.output


def test_the_worker_sweep_expires_lapsed_holds(app, db_session, orders):
    _listing, lapsed, live = orders
    assert [order.code for order in sweep_holds(app, force=True)] == [lapsed.code]
    db_session.refresh(live)
    assert live.status == "held"
    assert sweep_holds(app) == []  # within the interval: not run again
