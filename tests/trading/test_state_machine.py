"""A state machine of orders on one listing: place, cancel, confirm, let holds lapse, sweep.

After every step: no instant is oversold, the database agrees with a model kept by the test,
quotes and refusals count no lapsed hold, and after each sweep the published capacity equals
a recomputation from the model's orders.
"""

from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import select

from marketplace.errors import DomainError
from marketplace.models import Order
from marketplace.trading.capacity import free_at, live_spans, peak_usage
from marketplace.trading.refusals import CapacityShort, HoldExpired
from marketplace.trading.services import cancel_order, confirm_order, expire_holds, place_order, quote_order

from .helpers import HOUR, NOW, sellable

QUANTITY = 5


def test_orders_never_oversell_and_published_capacity_follows_them(db_session, seller, buyer):
    class Orders(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.listing = sellable(db_session, seller, quantity=QUANTITY)
            self.clock = NOW
            self.model: dict[str, dict] = {}  # code -> units, start, end, status, expires

        # --- the model --------------------------------------------------------------------------
        def live(self, order: dict) -> bool:
            return order["status"] == "confirmed" or (order["status"] == "held" and order["expires"] > self.clock)

        def used_at(self, moment) -> int:
            return sum(o["units"] for o in self.model.values()
                       if self.live(o) and o["start"] <= moment < o["end"])  # fmt: skip

        def free(self, start, end) -> int:
            hours = int((end - start) / HOUR)
            return QUANTITY - max(self.used_at(start + HOUR * i) for i in range(hours))

        def window(self, offset: int, length: int):
            start = self.clock.replace(minute=0, second=0, microsecond=0) + HOUR * (1 + offset)
            return start, start + HOUR * length

        # --- the rules --------------------------------------------------------------------------
        @rule(units=st.integers(1, 4), offset=st.integers(0, 12), length=st.integers(1, 6),
              hold=st.sampled_from([60, 900, 3600]))  # fmt: skip
        def place(self, units, offset, length, hold):
            start, end = self.window(offset, length)
            expected_free = self.free(start, end)
            quote = quote_order(session=db_session, listing=self.listing, units=units, start=start, end=end,
                                now=self.clock)  # fmt: skip
            assert quote.free == expected_free  # a lapsed hold counts for nothing, swept or not
            try:
                order, _ = place_order(session=db_session, listing=self.listing, buyer=buyer, units=units, start=start,
                                       end=end, now=self.clock, node_code="R44", hold_seconds=hold)  # fmt: skip
            except CapacityShort as refused:
                assert expected_free < units and refused.extra["free"] == expected_free
                return
            assert expected_free >= units
            self.model[order.code] = {"units": units, "start": start, "end": end, "status": "held",
                                      "expires": self.clock + timedelta(seconds=hold)}  # fmt: skip

        def pick(self, index: int) -> tuple[Order, dict] | None:
            if not self.model:
                return None
            code = sorted(self.model)[index % len(self.model)]
            return db_session.scalars(select(Order).where(Order.code == code)).one(), self.model[code]

        @rule(index=st.integers(0, 100))
        def cancel(self, index):
            picked = self.pick(index)
            if picked is None:
                return
            order, model = picked
            actor = buyer if model["status"] == "held" else seller
            try:
                cancel_order(session=db_session, order=order, actor=actor, reason="changed plans", now=self.clock)
            except DomainError:
                assert model["status"] not in ("held", "confirmed")
                return
            model["status"] = "cancelled" if model["status"] == "held" else "refunded"

        @rule(index=st.integers(0, 100))
        def confirm(self, index):
            picked = self.pick(index)
            if picked is None:
                return
            order, model = picked
            try:
                confirm_order(session=db_session, order=order, actor=seller, reference="BOC", now=self.clock)
            except HoldExpired:
                assert model["status"] == "held" and model["expires"] <= self.clock
                return
            except DomainError:
                assert model["status"] != "held"
                return
            assert model["status"] == "held" and model["expires"] > self.clock
            model["status"] = "confirmed"

        @rule(seconds=st.integers(1, 5400))
        def advance(self, seconds):
            self.clock += timedelta(seconds=seconds)

        @rule()
        def sweep(self):
            expire_holds(session=db_session, now=self.clock)
            for model in self.model.values():
                if model["status"] == "held" and model["expires"] <= self.clock:
                    model["status"] = "expired"
            first = self.clock.replace(minute=0, second=0, microsecond=0)
            for i in range(24):
                moment = first + HOUR * i
                published = free_at(self.listing.capacity, QUANTITY, moment)
                assert published == QUANTITY - self.used_at(moment), moment

        # --- after every step -------------------------------------------------------------------
        @invariant()
        def never_oversold(self):
            spans = live_spans(db_session, self.listing.id, now=self.clock)
            horizon = self.clock + timedelta(days=2)
            assert peak_usage(spans, self.clock - timedelta(days=1), horizon) <= QUANTITY

        @invariant()
        def database_agrees_with_the_model(self):
            rows = db_session.execute(select(Order.code, Order.status).where(Order.listing_id == self.listing.id))
            assert dict(rows.all()) == {code: o["status"] for code, o in self.model.items()}

    run_state_machine_as_test(
        Orders,
        settings=settings(max_examples=25, stateful_step_count=30, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]),
    )  # fmt: skip
