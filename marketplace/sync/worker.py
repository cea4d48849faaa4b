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
from sqlalchemy import func, select

from ..federation.client import TokenUnavailable
from ..federation.http import FetchRefused
from ..models import CatalogueChange, OutboxEvent, SyncCursor
from ..trading.sweep import sweep_holds
from .api import remote_directory
from .feed import FEED_LIMIT, CursorExpired, pull_once
from .health import probe_origins
from .push import parent, push_once
from .status import record_error

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
    _feed_behind: bool = field(default=False, init=False)

    @property
    def national(self) -> bool:
        return self.app.config["NODE_ROLE"] == "national"

    def pending(self) -> int:
        """Events waiting to go up: own outbox and relayed ones past the parent's cursors."""
        if self.national:
            return 0
        with self.app.app_context(), self.app.extensions["db"].session() as session:
            code, _url = parent()
            self.parent_code = code
            own = session.get(SyncCursor, f"out:{code}")
            relay = session.get(SyncCursor, f"relay:{code}")
            waiting = session.scalar(select(func.count()).where(OutboxEvent.seq > (own.last_seq if own else 0)))
            relayed = session.scalar(select(func.count()).where(CatalogueChange.seq > (relay.last_seq if relay else 0)))
            return (waiting or 0) + (relayed or 0)

    def push_if_pending(self) -> int:
        """Push one round (PUSH_CONCURRENCY batches) when events wait; the number sent."""
        if not self.pending():
            return 0
        with self.app.app_context(), self.app.extensions["db"].session() as session:
            return push_once(session=session).sent

    def push_all(self, progress=None) -> int:
        """Push until nothing is waiting; the number of events sent."""
        sent = 0
        with self.app.app_context():
            self.parent_code = parent()[0]
            while True:
                with self.app.extensions["db"].session() as session:
                    report = push_once(session=session)
                if not report.sent:
                    return sent
                sent += report.sent
                if progress:
                    progress(report.sent)

    def pull_page(self) -> bool:
        """Pull and apply one page of national's feed; whether more pages wait."""
        with self.app.app_context(), self.app.extensions["db"].session() as session:
            return pull_once(session=session, directory=remote_directory(), limit=self.feed_page).has_more

    def pull_all(self) -> tuple[int, int]:
        """Pull the feed until it has no more; (events received, applied)."""
        received = applied = 0
        with self.app.app_context():
            while True:
                with self.app.extensions["db"].session() as session:
                    report = pull_once(session=session, directory=remote_directory(), limit=self.feed_page)
                received, applied = received + report.received, applied + report.applied
                if not report.has_more:
                    return received, applied

    def once(self, progress=None) -> dict:
        """One round in both directions."""
        if self.national:
            return {"pushed": 0, "received": 0, "applied": 0}
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
            return self._failed(breaker, f"feed cursor expired: {error}")
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
        with self.app.app_context(), self.app.extensions["db"].session() as session:
            stream = "feed:N0" if breaker is self.pull_breaker else f"out:{self.parent_code or 'parent'}"
            record_error(session, stream, message)
        return breaker.failed()

    def probe(self) -> dict[str, bool]:
        """National: which origins answer, marking the listings of long-unreachable ones stale."""
        with self.app.app_context(), self.app.extensions["db"].session() as session:
            return probe_origins(session=session)

    def turn(self) -> tuple[float, bool]:
        """One turn of `run`: a round of pushing, then one page of the feed if due or behind.

        One round of each at a time, so that catching up on a long feed never holds back this
        node's own changes, nor a long outbox the feed. Returns (seconds to wait after a failure,
        whether more waits in either direction).
        """
        behind = {"push": False, "pull": False}
        sweep_holds(self.app)  # lapsed holds: marked expired, their freed capacity published (every few seconds)

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

        On national: probe the origins every probe_interval instead.
        """
        if self.national:
            while not stop.is_set():
                try:
                    self.probe()
                except Exception:  # the watcher outlives any one failure
                    self.app.logger.exception("probing the origins failed")
                stop.wait(self.probe_interval)
            return
        while not stop.is_set():
            delay, more = self.turn()
            if delay or not more:
                stop.wait(delay or self.poll_interval)
