"""Through real gunicorn on PostgreSQL: 100 buyers at once for one unit each of a 10-unit listing."""

import json
import os
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from marketplace import create_app
from marketplace.accounts.services import create_api_token
from marketplace.config import normalize_database_url

from ..conftest import PG_SCHEMA
from ..factories import make_user
from ..live import LiveNode, stop_all

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="races need PostgreSQL")]  # fmt: skip
BUYERS = 100


@dataclass
class PostgresNode(LiveNode):
    """A live node whose database is a PostgreSQL database of its own."""

    database_url: str = ""

    @property
    def env(self) -> dict:
        return super().env | {"DATABASE_URL": self.database_url}


def post(url: str, body: dict, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {token}"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_a_hundred_buyers_over_http_hold_exactly_ten_units(tmp_path):
    server = os.environ["TEST_DATABASE_URL"].rsplit("/", 1)[0]
    database = f"{PG_SCHEMA}_http"
    admin = server.replace("postgresql://", "postgresql+psycopg://") + "/postgres"
    _admin_sql_autocommit(admin, f"DROP DATABASE IF EXISTS {database}")
    _admin_sql_autocommit(admin, f"CREATE DATABASE {database}")
    node = PostgresNode("R44", "regional", tmp_path, database_url=f"{server}/{database}")
    try:
        node.prepare()
        seller_token, tokens = accounts(normalize_database_url(node.database_url))
        node.start()
        node.wait_healthy(time.monotonic() + 60)
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
        status, listing = post(f"{node.url}/api/v1/listings", {
            "title": "Ten units", "resource_type": "gpu", "gpu_model": "H100", "gpu_count": 8, "gpu_memory_gb": 80,
            "region": "52", "unit_price": 2050, "price_unit": "gpu_hour", "quantity": 10,
            "available_from": (start - timedelta(hours=2)).isoformat(),
            "available_until": (start + timedelta(days=2)).isoformat()}, seller_token)  # fmt: skip
        assert status == 201, listing
        order = {"listing_code": listing["code"], "units": 1, "start": start.isoformat(),
                 "end": (start + timedelta(hours=4)).isoformat()}  # fmt: skip
        barrier = threading.Barrier(BUYERS)

        def buy(token: str) -> tuple[int, dict]:
            barrier.wait(timeout=60)
            return post(f"{node.url}/api/v1/orders", order, token)

        with ThreadPoolExecutor(BUYERS) as pool:
            answers = list(pool.map(buy, tokens))
        statuses = [status for status, _body in answers]
        assert statuses.count(201) == 10 and statuses.count(409) == BUYERS - 10, node.tail()
        assert {body["reason"] for status, body in answers if status == 409} == {"capacity_short"}
        # Orders that queued for the listing's lock leave its capacity to the next order that finds it free, or
        # to the sync worker; this node runs none, so the sweep the worker runs publishes it.
        node.flask_ok("orders", "expire")
        document = node.get_json(f"/api/v1/listings/{listing['code']}")
        assert min(interval["free"] for interval in document["capacity"]) == 0
    finally:
        stop_all([node])
        _admin_sql_autocommit(admin, f"DROP DATABASE IF EXISTS {database}")


def accounts(database_url: str) -> tuple[str, list[str]]:
    """A seller's API token and 100 buyers' tokens, made in the node's database."""
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "e2e", "TESTING": True})
    with app.app_context(), app.extensions["db"].session() as session:
        seller = make_user(session, role="seller", name="Seller")
        seller_token = create_api_token(session=session, user=seller, name="e2e")[0]
        buyers = [make_user(session, role="buyer", name=f"Buyer {i}") for i in range(BUYERS)]
        tokens = [create_api_token(session=session, user=buyer, name="e2e")[0] for buyer in buyers]
        session.commit()
    app.extensions["db"].engine.dispose()
    return seller_token, tokens


def _admin_sql_autocommit(url: str, statement: str) -> None:
    """CREATE and DROP DATABASE run outside a transaction."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()
