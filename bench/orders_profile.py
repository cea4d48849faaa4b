"""Where an order's time goes: statements per order and time per order, in process, on PostgreSQL.

    .venv/bin/python bench/orders_profile.py [--orders 200] [--listings 1] [--cprofile 25]

A fresh database (`bench_orders_profile`), a seller, a buyer with an API token and `--listings`
listings; `--orders` orders of 1 unit for random 1-4 h windows through the test client (the real
request path: token, schema, service, commit, rendering). Prints the SQL statements each order sent
(SQLAlchemy's before_cursor_execute, BEGIN/COMMIT counted by the transaction events), the mean time per
order, and cProfile's top functions by cumulative time.
"""

import argparse
import collections
import cProfile
import io
import pstats
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import benchkit  # noqa: E402
import psycopg  # noqa: E402
from alembic import command  # noqa: E402
from sqlalchemy import event  # noqa: E402

from marketplace import create_app  # noqa: E402
from marketplace.accounts.services import create_api_token, create_user  # noqa: E402
from marketplace.cli import alembic_config  # noqa: E402
from marketplace.listings.schemas import ListingCreateSchema  # noqa: E402
from marketplace.listings.services import publish_listing  # noqa: E402

WORK = benchkit.ROOT / "bench" / "_work" / "orders_profile"
DSN = "postgresql://postgres@127.0.0.1/bench_orders_profile"


def prepare(listings: int):
    admin = DSN.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS bench_orders_profile")
        conn.execute("CREATE DATABASE bench_orders_profile")
    app = create_app({"DATABASE_URL": "postgresql+psycopg" + DSN[len("postgresql"):], "NODE_CODE": "R44",
                      "NODE_ROLE": "regional", "SIGNING_KEYS_FILE": str(WORK / "keys.json"), "SECRET_KEY": "bench",
                      "LOG_REQUESTS": False})  # fmt: skip
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    with app.app_context():
        command.upgrade(alembic_config(), "head")
        with app.extensions["db"].session() as session:
            seller = create_user(session=session, email="s@bench.cn", password="x" * 12, role="seller", name="S")
            buyer = create_user(session=session, email="b@bench.cn", password="x" * 12, role="buyer", name="B")
            token = create_api_token(session=session, user=buyer, name="bench")[0]
            codes = []
            for i in range(listings):
                data = ListingCreateSchema().load({
                    "title": f"Listing {i}", "resource_type": "gpu", "gpu_model": "H100", "gpu_count": 8,
                    "gpu_memory_gb": 80, "region": "52", "unit_price": 2050, "currency": "cny",
                    "price_unit": "gpu_hour", "quantity": 100, "available_from": start.isoformat(),
                    "available_until": (start + timedelta(days=90)).isoformat()})  # fmt: skip
                codes.append(publish_listing(session=session, seller=seller, node_code="R44", data=data).code)
            session.commit()
    return app, token, codes, start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--listings", type=int, default=1)
    parser.add_argument("--cprofile", type=int, default=25, help="functions to show (0: no cProfile)")
    parser.add_argument("--sort", default="cumulative", help="cProfile order: cumulative or tottime")
    parser.add_argument("--filter", default="", help="cProfile: only functions whose path matches this")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    app, token, codes, base = prepare(args.listings)
    statements: collections.Counter = collections.Counter()
    engine = app.extensions["db"].engine

    @event.listens_for(engine, "before_cursor_execute")
    def count(_conn, _cursor, statement, *_args):
        statements[" ".join(statement.split())[:110]] += 1

    @event.listens_for(engine, "commit")
    def count_commit(_conn):
        statements["COMMIT"] += 1

    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(7)

    def order() -> int:
        start = base + timedelta(hours=rng.randint(2, 24 * 60))
        body = {"listing_code": rng.choice(codes), "units": 1, "start": start.isoformat(),
                "end": (start + timedelta(hours=rng.randint(1, 4))).isoformat()}  # fmt: skip
        return client.post("/api/v1/orders", json=body, headers=headers).status_code

    for _ in range(20):  # warm-up: imports, compiled statement caches
        order()
    statements.clear()
    profiler = cProfile.Profile() if args.cprofile else None
    began, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    answers = collections.Counter(order() for _ in range(args.orders))
    if profiler:
        profiler.disable()
    took, cpu = time.perf_counter() - began, time.process_time() - cpu
    print(f"{args.orders} orders over {args.listings} listing(s): answers {dict(answers)}, "
          f"{1000 * took / args.orders:.1f} ms per order, of which {1000 * cpu / args.orders:.1f} ms CPU "
          f"in this process "
          f"(cProfile {'on' if profiler else 'off'})")  # fmt: skip
    print(f"statements per order: {sum(statements.values()) / args.orders:.2f}")
    for statement, n in statements.most_common():
        print(f"  {n / args.orders:5.2f}  {statement}")
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats(args.sort)
        stats.print_stats(*([args.filter] if args.filter else []), args.cprofile)
        print(out.getvalue())
    engine.dispose()


if __name__ == "__main__":
    main()
