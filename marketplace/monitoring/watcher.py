"""The watch every node keeps, once a minute, run by its sync worker: round trips, lag, and (national) origins.

Like the sync worker, it owns its transactions and holds none while another node is called.
- Every node times its parent's and national's /healthz and keeps a sample of its sync lag.
- National times every active node's /healthz with its probe (marking long-unreachable origins' listings
  stale), collects the links each node measured, and updates today's price index.
"""

import time
from dataclasses import dataclass, field

from flask import Flask
from marshmallow import ValidationError

from ..federation.client import TokenUnavailable, call_node, national_issuer
from ..federation.directory import parent_node
from ..federation.http import FetchRefused
from ..identity.codes import NATIONAL_CODE
from .history import record_sync_sample, update_price_index
from .latency import record_round_trips, store_reported_links, time_health
from .origins import DEFAULT_STALE_AFTER, active_nodes, record_probes
from .schemas import LinksSchema

_links = LinksSchema()
PRICE_INDEX_EVERY = 3600.0  # seconds: the median over a national catalogue is not free


@dataclass
class Watcher:
    """One node's watch; `round()` does everything due once."""

    app: Flask
    _price_index_due: float = field(default=0.0, init=False)
    _node_urls: dict[str, str] = field(default_factory=dict, init=False)

    @property
    def national(self) -> bool:
        return self.app.config["NODE_ROLE"] == "national"

    def _session(self):
        return self.app.extensions["db"].session()

    def round(self) -> dict:
        """Measure, record and (national) probe and collect; what was found."""
        with self.app.app_context():
            found = self._national_round() if self.national else self._node_round()
            with self._session() as session:
                record_sync_sample(session=session, role=self.app.config["NODE_ROLE"])
                session.commit()
            return found

    def _node_round(self) -> dict:
        targets = {NATIONAL_CODE: national_issuer()}
        try:
            code, url = parent_node()
            targets[code] = url
        except FetchRefused:  # national does not answer yet: its own round trip says so
            pass
        timed = {code: time_health(url) for code, url in targets.items()}
        with self._session() as session:
            record_round_trips(session=session, from_code=self.app.config["NODE_CODE"],
                               round_trips={code: ms for code, (ok, ms) in timed.items() if ok})  # fmt: skip
            session.commit()
        return {"round_trips": {code: ms for code, (_ok, ms) in timed.items()}}

    def probe(self) -> dict[str, tuple[bool, float | None]]:
        """National: (healthy, round trip ms) of every active node; stale marks and round trips recorded."""
        with self._session() as session:
            nodes = active_nodes(session)
        self._node_urls = dict(nodes)
        timed = {code: time_health(url) for code, url in nodes}  # no transaction is held while probing
        with self._session() as session:
            stale_after = self.app.config.get("SYNC_STALE_AFTER", DEFAULT_STALE_AFTER)
            record_probes(session=session, reachable={code: ok for code, (ok, _ms) in timed.items()},
                          stale_after=stale_after)  # fmt: skip
            record_round_trips(session=session, from_code=self.app.config["NODE_CODE"],
                               round_trips={code: ms for code, (ok, ms) in timed.items() if ok})  # fmt: skip
            session.commit()
        return timed

    def _national_round(self) -> dict:
        timed = self.probe()
        reported = {}
        for code, (healthy, _ms) in timed.items():
            if healthy:
                reported[code] = self._collect_links(code)
        if time.monotonic() >= self._price_index_due:
            with self._session() as session:
                update_price_index(session=session)
                session.commit()
            self._price_index_due = time.monotonic() + PRICE_INDEX_EVERY
        return {"probed": timed, "reported": reported}

    def _collect_links(self, code: str) -> int | None:
        """The links node `code` measured, kept at national; None when it would not say."""
        url = self._node_urls[code]
        try:
            response = call_node("GET", f"{url}/federation/v1/latency", audience=code, scope="registry:read")
            links = _links.load(response.json())["links"] if response.status_code == 200 else None
        except (FetchRefused, TokenUnavailable, ValueError, ValidationError):
            links = None
        if links is None:
            return None
        with self._session() as session:
            stored = store_reported_links(session=session, node_code=code, links=links)
            session.commit()
        return stored
