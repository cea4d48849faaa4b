"""The sync worker: pushes this node's events up, pulls national's feed down, survives peers that fail.

A failing peer is retried with exponential backoff and jitter; after repeated failures its
circuit opens and it is left alone for a while. Nothing is dropped while a peer is down: the
outbox and the cursors stay where they are, and both directions catch up when it returns.
"""

import random
import threading
import time
from dataclasses import dataclass, field

import httpx
from flask import Flask
from sqlmodel import Session

from .. import metrics
from ..federation.client import TokenUnavailable, national_issuer
from ..federation.directory import parent_node
from ..federation.http import FetchRefused
from ..federation.outbox import signed_events
from ..models import Stream
from ..monitoring.sync_status import record_sync_error
from ..monitoring.watcher import Watcher
from ..payments.sweep import transfer_due_shares
from ..trading.remote_sync import refresh_remote_orders
from ..trading.sweep import publish_stale, sweep_holds
from .apply import remote_directory
from .feed import (
    FEED_LIMIT,
    CursorExpired,
    FeedEntry,
    PullReport,
    append_to_feed,
    apply_feed_page,
    feed_position,
    fetch_feed_page,
)
from .push import (
    PUSH_CONCURRENCY,
    PushReport,
    acknowledged,
    advance_send_cursor,
    cursor_seq,
    own_batches,
    relay_batch,
    send_batch,
    send_batches,
    waiting_count,
)
from .schemas import MAX_BATCH

FAILURES_TO_OPEN = 3
PEER_ERRORS = (FetchRefused, TokenUnavailable, httpx.HTTPError, ValueError, KeyError)


@dataclass
class CircuitBreaker:
    """Stops calling a peer after repeated failures, for a cool-down that grows while it keeps failing."""

    failures: int = 0
    open_until: float = 0.0
    base_delay: float = 0.5
    max_delay: float = 60.0

    def allows(self) -> bool:
        return time.monotonic() >= self.open_until

    def succeeded(self) -> None:
        self.failures, self.open_until = 0, 0.0

    def failed(self) -> float:
        """Record a failure; the seconds to wait before the next try (backoff with jitter)."""
        self.failures += 1
        delay = min(self.max_delay, self.base_delay * 2 ** min(self.failures, 10) * random.uniform(0.5, 1.5))
        if self.failures >= FAILURES_TO_OPEN:
            self.open_until = time.monotonic() + delay
        return delay


@dataclass
class SyncWorker:
    """One node's sync loop; `once()` for a single round, `run(stop)` until stopped."""

    app: Flask
    pull_interval: float = 1.0
    poll_interval: float = 0.2
    probe_interval: float = 60.0
    push_breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    pull_breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    last_error: str | None = None
    parent_code: str | None = None  # known once the parent was found; names the stream of push errors
    feed_page: int = FEED_LIMIT
    _next_pull: float = field(default=0.0, init=False)
    watcher: Watcher = field(init=False)

    def __post_init__(self):
        self.watcher = Watcher(self.app)

    _feed_behind: bool = field(default=False, init=False)

    @property
    def national(self) -> bool:
        return self.app.config["NODE_ROLE"] == "national"

    def _session(self) -> Session:
        return self.app.extensions["db"].session()

    def pending(self) -> int:
        """Events waiting to go up: own outbox and relayed ones past the parent's cursors."""
        if self.national:
            return 0
        with self.app.app_context(), self._session() as session:
            self.parent_code, _url = parent_node()
            return waiting_count(session, self.parent_code)

    def push_once(self, limit: int = MAX_BATCH, concurrency: int = PUSH_CONCURRENCY) -> PushReport:
        """Send the next batches of this node's own events, then of the events it relays, to its parent.

        Batches go side by side; the cursor moves to the end of the last batch that was answered with
        every batch before it answered too, so a failed batch and all after it are sent again. No
        transaction is held while the parent is called.
        """
        with self.app.app_context():
            code, url = parent_node()
            self.parent_code = code
            with self._session() as session:
                batches = own_batches(session=session, parent_code=code, limit=limit, concurrency=concurrency)
                session.commit()  # the signatures are kept even if the parent is down
            last, sent, rejected, failure = acknowledged(batches, send_batches(code, url, batches))
            metrics.EVENTS_SENT.labels("own").inc(sum(len(batch.compacts) for batch in batches))
            metrics.EVENTS_ACKED.labels("own").inc(sent)
            with self._session() as session:
                acked = advance_send_cursor(session, Stream.outgoing(code), last)
                session.commit()
            if failure is not None:
                raise failure
            relay_sent, relay_rejected = self._relay_once(code, url, limit)
            return PushReport(sent + relay_sent, acked, rejected + relay_rejected)

    def _relay_once(self, code: str, url: str, limit: int) -> tuple[int, list[dict]]:
        """Pass the children's events on up; each is answered (applied, duplicate, stale or rejected) once."""
        with self._session() as session:
            batch = relay_batch(session=session, parent_code=code, limit=limit)
        if batch is None:
            return 0, []
        answer = send_batch(code, url, batch.compacts)
        metrics.EVENTS_SENT.labels("relay").inc(len(batch.compacts))
        metrics.EVENTS_ACKED.labels("relay").inc(len(batch.compacts))
        with self._session() as session:
            advance_send_cursor(session, Stream.relayed(code), batch.last_seq)
            session.commit()
        return len(batch.compacts), [result for result in answer["results"] if result["status"] == "rejected"]

    def push_if_pending(self) -> int:
        """Push one round (PUSH_CONCURRENCY batches) when events wait; the number sent."""
        if not self.pending():
            return 0
        return self.push_once().sent

    def push_all(self, progress=None) -> int:
        """Push until nothing is waiting; the number of events sent."""
        sent = 0
        while True:
            report = self.push_once()
            if not report.sent:
                return sent
            sent += report.sent
            if progress:
                progress(report.sent)

    def pull_once(self) -> PullReport:
        """Fetch the next page of national's feed and apply it; the position moves with what was applied."""
        with self.app.app_context():
            with self._session() as session:
                position = feed_position(session)
            page = fetch_feed_page(national_url=national_issuer(), after=position, limit=self.feed_page)
            with self._session() as session:
                report = apply_feed_page(session=session, page=page, directory=remote_directory(),
                                         own_code=self.app.config["NODE_CODE"])  # fmt: skip
                session.commit()
            metrics.EVENTS_RECEIVED.labels("feed", "applied").inc(report.applied)
            for reason in report.rejected:
                metrics.EVENTS_RECEIVED.labels("feed", "rejected").inc()
                self.app.logger.warning("feed event not applied: %s", reason)
            return report

    def pull_page(self) -> bool:
        """Pull and apply one page of national's feed; whether more pages wait."""
        return self.pull_once().has_more

    def pull_all(self) -> tuple[int, int]:
        """Pull the feed until it has no more; (events received, applied)."""
        received = applied = 0
        while True:
            report = self.pull_once()
            received, applied = received + report.received, applied + report.applied
            if not report.has_more:
                return received, applied

    def once(self, progress=None) -> dict:
        """One round in both directions (on national: its own events into its feed), after publishing the
        capacity that orders left stale, so that the round carries it."""
        publish_stale(self.app)
        if self.national:
            return {"pushed": 0, "received": 0, "applied": 0, "published": self.publish_own()}
        pushed = self.push_all(progress)
        received, applied = self.pull_all()
        return {"pushed": pushed, "received": received, "applied": applied}

    def _step(self, breaker: CircuitBreaker, action) -> float:
        """Run one direction if its circuit allows; the seconds to wait after a failure, else 0."""
        if not breaker.allows():
            return 0.0
        try:
            action()
        except CursorExpired as error:
            return self._failed(breaker, f"feed cursor expired: {error.message}")
        except PEER_ERRORS as error:
            return self._failed(breaker, f"{type(error).__name__}: {error}")
        except Exception as error:  # the worker outlives any one failure; the log has the traceback
            self.app.logger.exception("sync step failed")
            return self._failed(breaker, f"{type(error).__name__}: {error}")
        breaker.succeeded()
        return 0.0

    def _failed(self, breaker: CircuitBreaker, message: str) -> float:
        self.last_error = message
        self.app.logger.warning("sync: %s", message)
        with self.app.app_context(), self._session() as session:
            stream = Stream.FEED if breaker is self.pull_breaker else Stream.outgoing(self.parent_code or "parent")
            record_sync_error(session, stream, message)
            session.commit()
        return breaker.failed()

    def probe(self) -> dict[str, bool]:
        """National: which origins answer, marking the listings of long-unreachable ones stale."""
        with self.app.app_context():
            return {code: healthy for code, (healthy, _ms) in self.watcher.probe().items()}

    def watch(self) -> dict:
        """The once-a-minute watch: round trips, a lag sample; on national the probe and what nodes measured."""
        return self.watcher.round()

    def publish_own(self, limit: int = MAX_BATCH) -> int:
        """National: put its own listings' events into its feed, signed, so every node receives them."""
        total = 0
        with self.app.app_context():
            while True:
                with self._session() as session:
                    events = signed_events(session=session, after_seq=cursor_seq(session, Stream.OWN_TO_FEED),
                                           limit=limit)  # fmt: skip
                    if not events:
                        return total
                    own = self.app.config["NODE_CODE"]
                    append_to_feed(session, [FeedEntry(e.listing_code, own, e.version, e.jws) for e in events])
                    advance_send_cursor(session, Stream.OWN_TO_FEED, events[-1].seq)
                    session.commit()
                total += len(events)

    def turn(self) -> tuple[float, bool]:
        """One turn of `run`: a round of pushing, then one page of the feed if due or behind.

        One round of each at a time, so that catching up on a long feed never holds back this
        node's own changes, nor a long outbox the feed. Returns (seconds to wait after a failure,
        whether more waits in either direction).
        """
        behind = {"push": False, "pull": False}
        sweep_holds(self.app)  # lapsed holds: marked expired, their freed capacity published (every few seconds)
        publish_stale(self.app)  # capacity that bursts of orders left stale: published before this round's push
        transfer_due_shares(self.app)  # sellers' shares of started orders to their Stripe accounts (every minute)
        refresh_remote_orders(self.app)  # orders this node's buyers hold elsewhere: as their origins see them now

        def push_round() -> None:
            behind["push"] = self.push_if_pending() > 0

        def pull_page() -> None:
            behind["pull"] = self.pull_page()

        # Finding out what waits asks national for the parent on an industry node: a step like any other.
        delay = self._step(self.push_breaker, push_round)
        if self._feed_behind or time.monotonic() >= self._next_pull:
            delay = max(delay, self._step(self.pull_breaker, pull_page))
            self._feed_behind = behind["pull"]
            self._next_pull = time.monotonic() + self.pull_interval
        return delay, behind["push"] or self._feed_behind

    def run(self, stop: threading.Event) -> None:
        """Until `stop` is set: push as soon as events wait, pull the feed every pull_interval.

        Every probe_interval, the watch (round trips, lag sample; on national the probe of the origins).
        On national: put its own events into its feed instead of pushing and pulling.
        """
        next_watch = 0.0
        while not stop.is_set():
            if time.monotonic() >= next_watch:
                next_watch = time.monotonic() + self.probe_interval
                self._watch_safely()
            if self.national:
                refresh_remote_orders(self.app)
                publish_stale(self.app)
                try:
                    self.publish_own()
                except Exception:  # the worker outlives any one failure
                    self.app.logger.exception("national's own events could not enter its feed")
                stop.wait(self.poll_interval)
                continue
            delay, more = self.turn()
            if delay or not more:
                self._pause(stop, delay or self.poll_interval)

    def _pause(self, stop: threading.Event, seconds: float) -> None:
        """Wait `seconds` (or until stopped), publishing stale capacity every poll_interval meanwhile: the
        node's own search must not wait for a peer that failed and the backoff after it."""
        deadline = time.monotonic() + seconds
        while not stop.wait(min(self.poll_interval, max(deadline - time.monotonic(), 0.0))):
            if time.monotonic() >= deadline:
                return
            publish_stale(self.app)

    def _watch_safely(self) -> None:
        try:
            self.watch()
        except Exception:  # the watch outlives any one failure; the log has the traceback
            self.app.logger.exception("the watch round failed")
