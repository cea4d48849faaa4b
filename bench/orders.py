"""Orders benchmark (PROTOCOL.md §8), on PostgreSQL, with a real gunicorn node on 127.0.0.1.

1. Race: 100 buyers at once (a barrier) order 1 unit each of a 10-unit listing for the same window
   over HTTP: exactly 10 must be held.
2. Throughput: 100 concurrent buyers (wrk, 100 connections, each request a random buyer's token) post
   orders of 1 unit for random windows of 1-4 hours in the next 60 days, on one hot listing, then
   spread over 1,000 listings: orders/s, p50/p99, oversold (must be 0).
   The node's sync worker runs beside it, as in production: it publishes the capacity that orders
   which queued for a listing's lock left stale; after each phase, how long until every listing's
   published capacity is current, and whether it equals a recomputation from the orders.
3. The bare ceiling in the same run: the same requests against a minimal Flask app under the same
   gunicorn settings that does the same lock + overlap check + insert with plain psycopg
   (bench/orders_baseline_app.py).

    .venv/bin/python bench/orders.py [--seconds 20] [--connections 100] [--database bench_orders]

Each phase prints the load average and the cores the rest of the machine used just before it (the
machine is shared), and the phase's own figures.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import benchkit  # noqa: E402
import psycopg  # noqa: E402
from alembic import command  # noqa: E402
from sqlalchemy import select  # noqa: E402

from marketplace import create_app  # noqa: E402
from marketplace.accounts.services import create_api_token, create_user  # noqa: E402
from marketplace.cli import alembic_config  # noqa: E402
from marketplace.federation.keys import init_keys, keys_path  # noqa: E402
from marketplace.listings.schemas import ListingCreateSchema  # noqa: E402
from marketplace.listings.services import publish_listing  # noqa: E402
from marketplace.models import Listing  # noqa: E402
from marketplace.trading import capacity  # noqa: E402

ROOT = benchkit.ROOT
WORK = ROOT / "bench" / "_work" / "orders"
SERVER = "postgresql://postgres@127.0.0.1"
DSN = f"{SERVER}/bench_orders"  # --database changes it
BUYERS = 100
SPREAD = 1000

OVERSOLD_SQL = """
SELECT count(*) FROM (
  SELECT o.listing_id, o.starts_at, l.quantity,
         (SELECT sum(p.units) FROM "order" p WHERE p.listing_id = o.listing_id AND p.status IN ('held', 'confirmed')
            AND p.starts_at <= o.starts_at AND p.ends_at > o.starts_at) AS used
  FROM "order" o JOIN listing l ON l.id = o.listing_id WHERE o.status IN ('held', 'confirmed')
) AS instants WHERE used > quantity
"""


def listing_payload(quantity: int, title: str) -> dict:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    until = start + timedelta(days=90)
    return {"title": title, "resource_type": "gpu", "gpu_model": "H100", "gpu_count": 8, "gpu_memory_gb": 80,
            "region": "52", "unit_price": 2050, "currency": "cny", "price_unit": "gpu_hour", "quantity": quantity,
            "available_from": start.isoformat(), "available_until": until.isoformat()}  # fmt: skip


def prepare() -> dict:
    """A fresh database: migrated, a seller, 100 buyers with tokens, listings for every phase."""
    name = DSN.rsplit("/", 1)[1]
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    app = create_app({"DATABASE_URL": "postgresql+psycopg" + DSN[len("postgresql"):], "NODE_CODE": "R44",
                      "NODE_ROLE": "regional", "SIGNING_KEYS_FILE": str(WORK / "keys.json")})  # fmt: skip
    setup: dict = {"tokens": [], "phases": {}}
    with app.app_context():
        if not keys_path(app).exists():
            init_keys(app)  # /healthz wants the node's signing keys
        command.upgrade(alembic_config(), "head")
        with app.extensions["db"].session() as session:
            seller = create_user(session=session, email="seller@bench.cn", password="x" * 12, role="seller",
                                 name="Seller")  # fmt: skip
            for i in range(BUYERS):
                buyer = create_user(session=session, email=f"b{i}@bench.cn", password="x" * 12, role="buyer",
                                    name=f"Buyer {i}")  # fmt: skip
                setup["tokens"].append(create_api_token(session=session, user=buyer, name="bench")[0])

            def publish(quantity: int, title: str) -> str:
                data = ListingCreateSchema().load(listing_payload(quantity, title))
                return publish_listing(session=session, seller=seller, node_code="R44", data=data).code

            setup["race"] = publish(10, "Race for ten units")
            for target in ("node", "bare"):
                setup["phases"][f"{target}-hot"] = [publish(100, f"Hot {target}")]
                setup["phases"][f"{target}-spread"] = [publish(10, f"Spread {target} {i}") for i in range(SPREAD)]
            session.commit()
    app.extensions["db"].engine.dispose()
    return setup


def lua_script(path: str, tokens: list[str], codes: list[str]) -> Path:
    """A wrk script posting 1-unit orders for random windows, each with a random buyer's token."""
    base = int(datetime.now(UTC).replace(minute=0, second=0, microsecond=0).timestamp())
    script = WORK / f"{path.strip('/').replace('/', '_')}-{len(codes)}.lua"
    script.write_text(f"""
local tokens = {{{", ".join(json.dumps(t) for t in tokens)}}}
local codes = {{{", ".join(json.dumps(c) for c in codes)}}}
local base = {base}
local function iso(t) return os.date("!%Y-%m-%dT%H:%M:%S+00:00", t) end
function setup(thread) thread:set("seed", math.random(1, 1000000)) end
function init(args) math.randomseed(os.time() + seed) end
function request()
  local start = base + 3600 * math.random(2, 24 * 60)
  local body = string.format('{{"listing_code":"%s","units":1,"start":"%s","end":"%s"}}',
    codes[math.random(#codes)], iso(start), iso(start + 3600 * math.random(1, 4)))
  return wrk.format("POST", "{path}", {{["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[math.random(#tokens)]}}, body)
end
""")
    return script


def run_wrk(url: str, script: Path, seconds: int, connections: int) -> benchkit.WrkResult:
    command = [benchkit.WRK, "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency",
               "-s", str(script), url]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120, check=True)
    return benchkit.parse_wrk(done.stdout)


def race(url: str, token_list: list[str], code: str) -> int:
    """100 buyers at once for one unit each of a 10-unit listing: how many were held."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=3)
    body = json.dumps({"listing_code": code, "units": 1, "start": start.isoformat(),
                       "end": (start + timedelta(hours=4)).isoformat()}).encode()  # fmt: skip
    barrier = threading.Barrier(BUYERS)

    def buy(token: str) -> int:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        req = urllib.request.Request(f"{url}/api/v1/orders", data=body, method="POST", headers=headers)
        barrier.wait()
        try:
            with urllib.request.urlopen(req, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    with ThreadPoolExecutor(BUYERS) as pool:
        statuses = list(pool.map(buy, token_list))
    return statuses.count(201)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def orders_of(codes: list[str]) -> int:
    with psycopg.connect(DSN) as conn:
        return conn.execute('SELECT count(*) FROM "order" WHERE listing_code = ANY(%s)', (codes,)).fetchone()[0]


def start_worker(env: dict) -> subprocess.Popen:
    """The node's sync worker (`flask sync run`), logging to the work directory."""
    with (WORK / "worker.log").open("wb") as log:
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "sync", "run"], cwd=ROOT,
                                env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip


def capacity_settled(codes: list[str], timeout: float = 30) -> tuple[float, bool]:
    """(the longest a listing of `codes` published its capacity after its last order, in seconds, whether
    every published capacity then equals a recomputation from the orders), once the orders stopped (the
    node answers what wrk left queued after it stops) and no listing is left with stale capacity."""
    began = time.monotonic()
    with psycopg.connect(DSN, autocommit=True) as conn:
        count = -1
        while count != (count := orders_of(codes)):
            time.sleep(0.5)
        while conn.execute("SELECT count(*) FROM listing WHERE capacity_stale AND code = ANY(%s)",
                           (codes,)).fetchone()[0] and time.monotonic() - began < timeout:  # fmt: skip
            time.sleep(0.05)
        waited = conn.execute(
            'SELECT max(extract(epoch FROM l.updated_at - (SELECT max(o.created_at) FROM "order" o '
            "WHERE o.listing_id = l.id))) FROM listing l WHERE l.code = ANY(%s)", (codes,)).fetchone()[0]  # fmt: skip
    app = create_app({"DATABASE_URL": "postgresql+psycopg" + DSN[len("postgresql"):], "NODE_CODE": "R44",
                      "NODE_ROLE": "regional", "SIGNING_KEYS_FILE": str(WORK / "keys.json")})  # fmt: skip
    with app.app_context(), app.extensions["db"].session() as session:
        now = datetime.now(UTC)
        listings = session.scalars(select(Listing).where(Listing.code.in_(codes))).all()
        exact = all(listing.capacity == capacity.capacity_of(listing, capacity.live_spans(session, listing.id, now=now),
                                                             now) for listing in listings)  # fmt: skip
    app.extensions["db"].engine.dispose()
    return float(waited or 0), exact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=BUYERS)
    parser.add_argument("--database", default="bench_orders", help="the database it drops and creates")
    args = parser.parse_args()
    global DSN
    DSN = f"{SERVER}/{args.database}"
    print(f"serving {ROOT}; load average {_load()}", flush=True)
    WORK.mkdir(parents=True, exist_ok=True)
    setup = prepare()
    env = {"DATABASE_URL": DSN, "NODE_CODE": "R44", "NODE_ROLE": "regional", "SECRET_KEY": "bench",
           "SIGNING_KEYS_FILE": str(WORK / "keys.json"), "ACCESS_LOG": str(WORK / "node.access.log")}  # fmt: skip
    node = benchkit.Server("node", "app:app", env, WORK)
    bare = benchkit.Server("bare", "orders_baseline_app:app", {"BENCH_DSN": DSN, "ACCESS_LOG": "/dev/null"}, WORK,
                           chdir=ROOT / "bench")  # fmt: skip
    worker = start_worker(env)
    rows = []
    try:
        node.wait_healthy()
        bare.wait_healthy()
        held = race(node.url, setup["tokens"], setup["race"])
        print(f"race: {BUYERS} buyers for 10 units over HTTP -> {held} held (must be 10)", flush=True)
        for shape in ("hot", "spread"):
            for target, server, path in (("node", node, "/api/v1/orders"), ("bare", bare, "/orders")):
                codes = setup["phases"][f"{target}-{shape}"]
                others = benchkit.wait_quiet()
                print(f"  before {shape} {target}: load average {_load()}, other work {others:.2f} cores", flush=True)
                result = run_wrk(server.url, lua_script(path, setup["tokens"], codes), args.seconds,
                                 args.connections)  # fmt: skip
                placed = orders_of(codes)
                rows.append((shape, target, placed / args.seconds, result))
                print(f"{shape:<6} {target:<4} {placed / args.seconds:8.1f} orders/s  p50 {result.p50_ms:7.1f} ms  "
                      f"p99 {result.p99_ms:7.1f} ms  requests {result.requests}  non-2xx/errors {result.errors}",
                      flush=True)  # fmt: skip
                if target == "node":
                    waited, exact = capacity_settled(codes)
                    print(f"  capacity published at most {waited:.2f} s after a listing's last order; equal to a "
                          f"recomputation from the orders: {'yes' if exact else 'NO'}", flush=True)  # fmt: skip
        with psycopg.connect(DSN) as conn:
            oversold = conn.execute(OVERSOLD_SQL).fetchone()[0]
        print(f"oversold instants (all listings, node and bare): {oversold} (must be 0)")
        for shape in ("hot", "spread"):
            (node_rate,) = [r[2] for r in rows if r[0] == shape and r[1] == "node"]
            (bare_rate,) = [r[2] for r in rows if r[0] == shape and r[1] == "bare"]
            print(f"{shape}: node / bare = {100 * node_rate / bare_rate:.0f}% (target >= 50%)")
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        node.stop()
        bare.stop()


if __name__ == "__main__":
    main()
