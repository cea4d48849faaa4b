"""Payments benchmark (PROTOCOL.md §9): Stripe webhook deliveries to a gunicorn node on PostgreSQL.

Per round: buyers hold 80 orders (on 20 listings) through the node's API (each opens a Checkout Session at the
Stripe-compatible test server), every session is paid, and the 80 `checkout.session.completed`
events plus 20 duplicates (100 deliveries, shuffled) are posted to `/payments/stripe/webhook` at
the same moment from 100 threads, signed as Stripe signs them. Each delivery re-reads the payment
from the test server before acting, as in production. Reports deliveries/s and latency, and checks
that every event was applied exactly once (one stored event, one charge each, orders confirmed,
the ledger balanced).

    .venv/bin/python bench/payments.py [--rounds 5]
"""

import argparse
import json
import random
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import benchkit  # noqa: E402
import psycopg  # noqa: E402
from alembic import command  # noqa: E402

from marketplace import create_app  # noqa: E402
from marketplace.accounts.services import create_api_token, create_user  # noqa: E402
from marketplace.cli import alembic_config  # noqa: E402
from marketplace.federation.keys import init_keys, keys_path  # noqa: E402
from marketplace.listings.schemas import ListingCreateSchema  # noqa: E402
from marketplace.listings.services import publish_listing  # noqa: E402
from tests.stripe_server import StripeServer  # noqa: E402
from tests.stripe_server.events import sign  # noqa: E402

WORK = benchkit.ROOT / "bench" / "_work" / "payments"
DSN = "postgresql://postgres@127.0.0.1/bench_payments"
EVENTS, DUPLICATES, LISTINGS = 80, 20, 20


def prepare() -> dict:
    """A fresh database: migrated, a seller with 20 listings of 10,000 units, a buyer with a token."""
    admin = DSN.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS bench_payments")
        conn.execute("CREATE DATABASE bench_payments")
    app = create_app({"DATABASE_URL": "postgresql+psycopg" + DSN[len("postgresql"):], "NODE_CODE": "R44",
                      "NODE_ROLE": "regional", "SIGNING_KEYS_FILE": str(WORK / "keys.json")})  # fmt: skip
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    with app.app_context():
        command.upgrade(alembic_config(), "head")
        if not keys_path().exists():
            init_keys()
        with app.extensions["db"].session() as session:
            seller = create_user(session=session, email="seller@bench.cn", password="x" * 12, role="seller",
                                 name="Seller")  # fmt: skip
            buyer = create_user(session=session, email="buyer@bench.cn", password="x" * 12, role="buyer",
                                name="Buyer")  # fmt: skip
            token = create_api_token(session=session, user=buyer, name="bench")[0]
            codes = []
            for number in range(LISTINGS):
                data = ListingCreateSchema().load({
                    "title": f"Webhook bench {number}", "resource_type": "gpu", "gpu_model": "H100", "gpu_count": 8,
                    "gpu_memory_gb": 80, "region": "52", "unit_price": 2050, "currency": "cny",
                    "price_unit": "gpu_hour", "quantity": 10_000, "available_from": start.isoformat(),
                    "available_until": (start + timedelta(days=90)).isoformat()})  # fmt: skip
                codes.append(publish_listing(session=session, seller=seller, node_code="R44", data=data).code)
            session.commit()
    app.extensions["db"].engine.dispose()
    return {"token": token, "listings": codes, "start": start}


def post(url: str, body: bytes, headers: dict) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def hold_orders(node_url: str, setup: dict, count: int) -> list[str]:
    """`count` orders held through the API (each opening a Checkout Session); their codes."""
    codes = []
    for _ in range(count):
        begin = setup["start"] + timedelta(hours=random.randrange(2, 2000))
        body = json.dumps({"listing_code": random.choice(setup["listings"]), "units": 1, "start": begin.isoformat(),
                           "end": (begin + timedelta(hours=2)).isoformat()}).encode()  # fmt: skip
        status, answer = post(f"{node_url}/api/v1/orders", body, {"Authorization": f"Bearer {setup['token']}",
                                                                   "Content-Type": "application/json"})  # fmt: skip
        assert status == 201, answer
        codes.append(json.loads(answer)["code"])
    return codes


def deliver_at_once(node_url: str, stripe: StripeServer, events: list[dict]) -> tuple[float, list[float], list]:
    """Post every delivery from its own thread at the same moment: (wall seconds, latencies in ms, statuses)."""
    barrier = threading.Barrier(len(events) + 1)
    latencies, statuses = [0.0] * len(events), [None] * len(events)

    def send(index: int) -> None:
        payload = json.dumps(events[index]).encode()
        headers = {"Stripe-Signature": sign(payload, stripe.webhook_secret), "Content-Type": "application/json"}
        barrier.wait()
        began = time.perf_counter()
        status, body = post(f"{node_url}/payments/stripe/webhook", payload, headers)
        latencies[index] = (time.perf_counter() - began) * 1000
        statuses[index] = (status, json.loads(body).get("status") if status == 200 else body[:200])

    threads = [threading.Thread(target=send, args=(index,)) for index in range(len(events))]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, latencies, statuses


def check_once(codes: list[str]) -> str:
    """Every order confirmed, one stored event and one charge each, the ledger balanced: "ok" or what is wrong."""
    with psycopg.connect(DSN) as conn:
        confirmed = conn.execute("SELECT count(*) FROM \"order\" WHERE code = ANY(%s) AND status = 'confirmed'",
                                 (codes,)).fetchone()[0]  # fmt: skip
        charges = conn.execute(
            "SELECT count(*), count(DISTINCT l.order_id) FROM ledger_entry l JOIN \"order\" o ON o.id = l.order_id "
            "WHERE o.code = ANY(%s) AND l.kind = 'charge'", (codes,)).fetchone()  # fmt: skip
        unbalanced = conn.execute(
            "SELECT count(*) FROM (SELECT order_id, sum(CASE kind WHEN 'charge' THEN amount WHEN 'refund' THEN -amount "
            "WHEN 'commission' THEN -amount WHEN 'seller_share' THEN -amount ELSE 0 END) AS off FROM ledger_entry "
            "WHERE order_id IS NOT NULL GROUP BY order_id) AS sums WHERE off <> 0").fetchone()[0]  # fmt: skip
    if confirmed == len(codes) and charges == (len(codes), len(codes)) and unbalanced == 0:
        return "ok"
    return f"confirmed {confirmed}/{len(codes)}, charges {charges}, unbalanced orders {unbalanced}"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    setup = prepare()
    stripe = StripeServer().start()
    env = {"DATABASE_URL": DSN, "NODE_CODE": "R44", "NODE_ROLE": "regional", "SECRET_KEY": "bench",
           "SIGNING_KEYS_FILE": str(WORK / "keys.json"), "ACCESS_LOG": str(WORK / "node.access.log"),
           "STRIPE_SECRET_KEY": stripe.api_key, "STRIPE_API_BASE": stripe.url,
           "STRIPE_WEBHOOK_SECRET": stripe.webhook_secret}  # fmt: skip
    node = benchkit.Server("node", "app:app", env, WORK)
    all_latencies, rates, stored_before = [], [], 0
    try:
        node.wait_healthy()
        for round_number in range(1, args.rounds + 1):
            codes = hold_orders(node.url, setup, EVENTS)
            sessions = [s for s in stripe.state.all("checkout.session") if s["client_reference_id"] in codes]
            events = []
            for session in sessions:
                stripe.pay(session["id"])
                events += [e for e in stripe.state.all("event", lambda e, s=session: e["type"] ==
                           "checkout.session.completed" and e["data"]["object"]["id"] == s["id"])]  # fmt: skip
            deliveries = events + random.sample(events, DUPLICATES)
            random.shuffle(deliveries)
            benchkit.wait_quiet()
            seconds, latencies, statuses = deliver_at_once(node.url, stripe, deliveries)
            applied = sum(1 for s in statuses if s == (200, "applied"))
            duplicates = sum(1 for s in statuses if s == (200, "duplicate"))
            failed = [s for s in statuses if s[0] != 200]
            with psycopg.connect(DSN) as conn:
                stored = conn.execute("SELECT count(*) FROM stripe_event").fetchone()[0]
            once = check_once(codes)
            rates.append(len(deliveries) / seconds)
            all_latencies += latencies
            print(f"round {round_number}: {len(deliveries)} deliveries ({len(events)} events + {DUPLICATES} dupl.) "
                  f"in {seconds:.2f} s = {len(deliveries) / seconds:.0f}/s; p50 {percentile(latencies, .5):.0f} ms, "
                  f"p99 {percentile(latencies, .99):.0f} ms; applied {applied}, duplicate {duplicates}, "
                  f"failed {len(failed)}; events stored +{stored - stored_before}; exactly once: {once}",
                  flush=True)  # fmt: skip
            stored_before = stored
        print(f"all rounds: {sum(rates) / len(rates):.0f} deliveries/s (mean of rounds), "
              f"p50 {percentile(all_latencies, .5):.0f} ms, p99 {percentile(all_latencies, .99):.0f} ms "
              f"over {len(all_latencies)} deliveries")  # fmt: skip
    finally:
        node.stop()
        stripe.stop()


if __name__ == "__main__":
    main()
