"""Demand matching benchmark: `POST /api/v1/matches` against a 1,000,000-listing PostgreSQL catalogue.

    .venv/bin/python bench/matching.py --rows 1000000 [--runs 300] [--reload] [--pg-url URL]

Uses the search benchmark's realistic catalogue (bench/search_data.py: listings of every type from six
origins, with capacity: most listings 0–3 free-capacity intervals, about a tenth 20 to 60) in the search
benchmark's database (`bench`, or `--pg-url`): loaded when it does not hold `--rows` listings, else kept,
so one load serves bench/search.py and this benchmark. Then sends each typical demand
`--runs` times through the node's own API in process (Flask's test client: routing, schema, service,
SQL, JSON; no HTTP server) and prints p50/p99 per demand, with what was found. Target: p99 ≤ 50 ms.
"""

import argparse
import gc
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import search  # noqa: E402

PG_URL = search.PG_URL  # one catalogue for both benchmarks


def demands() -> dict[str, dict]:
    """The typical demands, for a two-day window that starts tomorrow on a whole hour."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    window = {"start": start.isoformat(), "end": (start + timedelta(hours=48)).isoformat()}
    return {
        "one model + window": {"gpu_models": ["H100"], "gpus": 8} | window,
        "models + regions + ceiling": {"gpu_models": ["H100", "H800", "A800"], "gpus": 16,
                                       "regions": ["52", "15", "64"], "max_price_per_gpu_hour": 2000} | window,
        "needs a combination": {"gpu_models": ["H100"], "gpus": 2048} | window,
        "near Beijing ≤ 5 ms": {"gpu_models": ["A100"], "gpus": 16, "near_city": "110100",
                                "max_latency_ms": 5} | window,
        "nothing fits (exclusions)": {"gpu_models": ["H20"], "gpus": 8, "max_price_per_gpu_hour": 100,
                                      "regions": ["65"]} | window,
    }  # fmt: skip


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--reload", action="store_true")
    parser.add_argument("--pg-url", default=PG_URL, help="the PostgreSQL database of the catalogue")
    args = parser.parse_args()
    search.prepare_data("postgresql", args.rows, args.reload, search.SQLITE_PATH, args.pg_url)
    os.environ |= {"DATABASE_URL": args.pg_url, "NODE_CODE": "R44", "SECRET_KEY": "bench", "LOG_REQUESTS": "0"}
    from marketplace import create_app

    app = create_app()
    gc.freeze()  # as a gunicorn worker does once the app is loaded (gunicorn.conf.py's post_worker_init)
    client = app.test_client()
    print(f"\n{'demand':<28} {'p50 ms':>7} {'p99 ms':>7}  offers  parts  considered  excluded")
    for name, body in demands().items():
        answer = client.post("/api/v1/matches", json=body)
        assert answer.status_code == 200, answer.get_json()
        found = answer.get_json()
        for _ in range(10):  # warm: statement caches, the connection pool
            client.post("/api/v1/matches", json=body)
        times = []
        for _ in range(args.runs):
            began = time.perf_counter()
            response = client.post("/api/v1/matches", json=body)
            times.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200
        parts = max((len(o["parts"]) for o in found["offers"]), default=0)
        print(
            f"{name:<28} {statistics.median(times):7.1f} {percentile(times, 0.99):7.1f}  {len(found['offers']):>6}"
            f"  {parts:>5}  {found['considered']:>10}  {found.get('excluded', '')}",
            flush=True,
        )


if __name__ == "__main__":
    main()
