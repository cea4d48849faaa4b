"""Sync benchmark (PROTOCOL.md §6), on PostgreSQL, with real gunicorn nodes on 127.0.0.1.

1. Push throughput: a regional node pushes N signed events (default 100,000) to national over HTTP
   in batches of 500; events per second, next to a bare bulk upsert of the same rows into the same
   database (the same guarded INSERT ... ON CONFLICT the receiver runs, without HTTP, tokens or JWS).
2. Propagation latency: an industry node publishes and edits listings at a steady rate (default
   50/s); each change goes IM01 → R11 → N0 through the real sync workers with default settings;
   latency is from the origin's outbox to national's feed, p50 and p95.
3. An idle sync round (push nothing, pull an empty feed) against national's catalogue of C
   listings (default 1,000,000): milliseconds per round.

    .venv/bin/python bench/sync.py [--events 100000] [--catalogue 1000000] [--rate 50] [--seconds 20]
"""

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import benchkit  # noqa: E402
import orjson  # noqa: E402
import psycopg  # noqa: E402
import search_data  # noqa: E402

from marketplace import create_app  # noqa: E402
from marketplace.federation.keys import init_keys, public_jwks  # noqa: E402
from marketplace.identity.codes import encode_serial, format_code  # noqa: E402
from marketplace.listings.documents import render_document  # noqa: E402
from marketplace.sync.push import PUSH_CONCURRENCY  # noqa: E402

ROOT = benchkit.ROOT
WORK = ROOT / "bench" / "_work" / "sync"
DSN = os.environ.get("BENCH_SYNC_DSN", "postgresql://postgres@127.0.0.1/bench_sync")
UPSERT_COLUMNS = [c for c in search_data.COLUMNS if c != "created_at"]


def node_env(code: str, role: str, url: str, national_url: str, database_url: str, parent_url: str = "") -> dict:
    return {"DATABASE_URL": database_url, "NODE_CODE": code, "NODE_ROLE": role, "PUBLIC_URL": url,
            "NATIONAL_URL": national_url, "PARENT_URL": parent_url or national_url, "SECRET_KEY": f"bench-{code}",
            "SIGNING_KEYS_FILE": str(WORK / f"{code}.keys.json"), "FEDERATION_ALLOW_PRIVATE_ADDRESSES": "1",
            "ACCESS_LOG": str(WORK / f"{code}.access.log")}  # fmt: skip


def prepare_national(catalogue: int) -> None:
    """A national database holding `catalogue` listings of other nodes (COPY), migrated to head."""
    admin = DSN.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS bench_sync")
        conn.execute("CREATE DATABASE bench_sync")
    search_data.load_postgresql(DSN, catalogue)


def register(code: str, role: str, parent: str | None, url: str, jwks: dict) -> None:
    """Put a node into national's directory (the registry's review is not what is measured here)."""
    now = datetime.now(UTC)
    with psycopg.connect(DSN) as conn:
        conn.execute(
            "INSERT INTO node (code, role, parent, name, public_url, jwks, redirect_uris, status, created_at, "
            "updated_at) VALUES (%s, %s, %s, %s, %s, %s, '[]', 'active', %s, %s) ON CONFLICT (code) DO UPDATE "
            "SET jwks = EXCLUDED.jwks, public_url = EXCLUDED.public_url",
            (code, role, parent, f"Bench node {code}", url, json.dumps(jwks), now, now),
        )


def app_for(env: dict):
    """The app of a node's environment, in this process."""
    return create_app({k: (v == "1" if k == "FEDERATION_ALLOW_PRIVATE_ADDRESSES" else v) for k, v in env.items()})


def start_at_feed_end(app) -> None:
    """Make the node an established one: its copy of national's catalogue is current (the feed's end)."""
    from marketplace.models import Stream, SyncCursor
    from marketplace.sync.feed import encode_cursor

    with psycopg.connect(DSN) as conn:
        last = conn.execute("SELECT coalesce(max(seq), 0) FROM catalogue_change").fetchone()[0]
    with app.app_context(), app.extensions["db"].session() as session:
        session.merge(SyncCursor(stream=Stream.FEED, epoch=1, last_seq=0, position=encode_cursor(last)))
        session.commit()


def in_process_node(code: str, role: str, national_url: str):
    """A node app in this process, on its own SQLite database, with its own keys."""
    env = node_env(code, role, "http://127.0.0.1:9", national_url, f"sqlite:///{WORK / f'{code}.sqlite3'}")
    app = app_for(env)
    from alembic import command

    from marketplace.cli import alembic_config

    with app.app_context():
        command.upgrade(alembic_config(), "head")
        init_keys()
    return app


def fill_outbox(app, origin: str, count: int) -> list[str]:
    """`count` signed upsert events of new listings minted under `origin`, written to its outbox as sent."""
    from marketplace.federation.outbox import sign_event
    from marketplace.models import OutboxCounter, OutboxEvent

    rows, events = [], []
    for seq, row in enumerate(search_data.generate_rows(count, seed=7), start=1):
        values = dict(zip(search_data.COLUMNS, row, strict=True))
        values.update(code=format_code(origin, encode_serial(seq)), origin=origin, version=1, status="published")
        if values["capacity"]:  # the column's text, [[from, until, free]] in seconds, as the model reads it
            values["capacity"] = [
                {"from": datetime.fromtimestamp(start, UTC), "until": datetime.fromtimestamp(end, UTC), "free": free}
                for start, end, free in json.loads(values["capacity"])
            ]  # fmt: skip
        event_id = str(uuid.uuid4())
        payload = orjson.dumps({
            "event_id": event_id, "listing_code": values["code"], "origin": origin, "version": 1, "op": "upsert",
            "epoch": 1, "seq": seq, "occurred_at": datetime.now(UTC).isoformat(),
            "listing": orjson.Fragment(render_document(SimpleNamespace(**values))),
        })  # fmt: skip
        with app.app_context():
            events.append(sign_event(payload))
        rows.append({"event_id": event_id, "epoch": 1, "seq": seq, "listing_code": values["code"], "version": 1,
                     "payload": payload.decode(), "jws": events[-1], "created_at": datetime.now(UTC)})  # fmt: skip
    with app.app_context(), app.extensions["db"].session() as session:
        session.execute(OutboxEvent.__table__.insert(), rows)
        session.merge(OutboxCounter(id=OutboxCounter.OUTBOX, epoch=1, last_seq=count))
        session.commit()
    return events


def push_throughput(national: benchkit.Server, count: int) -> dict:
    """The regional node's own sync worker pushes its outbox (batches of 500, PUSH_CONCURRENCY in flight)."""
    from marketplace.sync.worker import SyncWorker

    regional = in_process_node("R46", "regional", national.url)
    with regional.app_context():
        register("R46", "regional", "N0", "http://127.0.0.1:9", public_jwks())
    t = time.perf_counter()
    events = fill_outbox(regional, "R46", count)
    print(f"  signed {count:,} events in {time.perf_counter() - t:.1f} s", flush=True)
    with psycopg.connect(DSN) as conn:
        before = conn.execute("SELECT count(*) FROM listing WHERE origin = 'R46'").fetchone()[0]
    started = time.perf_counter()
    worker, pushed, rejected = SyncWorker(regional), 0, []
    while report := worker.push_once():
        if not report.sent:
            break
        pushed, rejected = pushed + report.sent, rejected + report.rejected
    elapsed = time.perf_counter() - started
    if rejected:
        print(f"  national rejected {len(rejected)} events, e.g. {rejected[0]}", flush=True)
    with psycopg.connect(DSN) as conn:
        applied = conn.execute("SELECT count(*) FROM listing WHERE origin = 'R46'").fetchone()[0] - before
    assert pushed == count and applied == count, f"pushed {pushed}, applied {applied} of {count}"
    baseline = bare_upsert(events, "R47")
    return {"events": count, "seconds": elapsed, "events_per_s": count / elapsed, "bare_rows_per_s": baseline}


def bare_upsert(events: list[str], origin: str) -> float:
    """The same rows, inserted by the same guarded upsert, in batches of 500, straight into PostgreSQL."""
    import base64

    rows = []
    for compact in events:
        payload = json.loads(base64.urlsafe_b64decode(compact.split(".")[1] + "=="))
        doc = payload["listing"]
        row = {c: doc.get(c) for c in UPSERT_COLUMNS if c in doc and c != "capacity"}
        # The column's form (models.types.CapacityIntervals), in every row: the statement has one shape.
        row["capacity"] = doc.get("capacity") and json.dumps([
            [int(datetime.fromisoformat(i["from"]).timestamp()), int(datetime.fromisoformat(i["until"]).timestamp()),
             i["free"]] for i in doc["capacity"]
        ])  # fmt: skip
        row.update(code=doc["code"].replace("R46", origin, 1), origin=origin, seller_name=doc["seller"]["name"],
                   seller_org=doc["seller"]["org"], document=json.dumps(doc), price_per_gpu_hour=None)  # fmt: skip
        rows.append(row)
    columns = list(rows[0]) + ["created_at"]
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in ("code", "origin", "created_at"))
    sql = (f"INSERT INTO listing ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
           f"ON CONFLICT (code) DO UPDATE SET {updates} WHERE listing.version < EXCLUDED.version")  # fmt: skip
    now = datetime.now(UTC)
    started = time.perf_counter()
    with psycopg.connect(DSN) as conn:
        for i in range(0, len(rows), 500):
            with conn.cursor() as cur:
                cur.executemany(sql, [[*r.values(), now] for r in rows[i : i + 500]])
            conn.commit()
    return len(rows) / (time.perf_counter() - started)


def postgresql_version() -> str:
    with psycopg.connect(DSN) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def propagation(national: benchkit.Server, rate: float, seconds: float) -> dict:
    """IM01 → R11 → N0 under a steady rate of changes; latency from IM01's outbox to national's feed.

    The industry node is IM01, not IJ01: national's generated catalogue already holds listings of IJ01
    (search_data), whose codes the real node would mint again.
    """
    import subprocess

    servers, workers = [], []
    r11_port, ij_port = benchkit.free_port(), benchkit.free_port()
    r11_url, ij_url = f"http://127.0.0.1:{r11_port}", f"http://127.0.0.1:{ij_port}"
    envs = {"R11": node_env("R11", "regional", r11_url, national.url, f"sqlite:///{WORK / 'R11.sqlite3'}"),
            "IM01": node_env("IM01", "industry", ij_url, national.url, f"sqlite:///{WORK / 'IM01.sqlite3'}",
                             parent_url=r11_url)}  # fmt: skip
    try:
        for (code, env), port in zip(envs.items(), (r11_port, ij_port), strict=True):
            benchkit.flask(env, "db", "upgrade")
            benchkit.flask(env, "keys", "init", "--if-missing")
            # Measured is the steady state of established nodes, not their first catch-up on the feed.
            start_at_feed_end(app_for(env))
            jwks = json.loads((WORK / f"{code}.keys.json").read_text())
            public = {"keys": [{k: v for k, v in jwk.items() if k != "d"} for jwk in jwks.values()]}
            register(code, "regional" if code == "R11" else "industry", "N0" if code == "R11" else "R11",
                     env["PUBLIC_URL"], public)  # fmt: skip
            servers.append(benchkit.Server(code, "app:app", env, WORK, port=port))
        for server in servers:
            server.wait_healthy()
        for env in envs.values():
            log = (WORK / f"{env['NODE_CODE']}.sync.log").open("w")
            workers.append(subprocess.Popen([str(ROOT / ".venv/bin/flask"), "--app", "app", "sync", "run"], cwd=ROOT,
                                            env=os.environ | env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True))  # fmt: skip
        benchkit.flask(
            envs["IM01"], "users", "create", "seller@im01.bench", "--role", "seller", "--password", "bench-password"
        )
        token = benchkit.flask(envs["IM01"], "tokens", "create", "seller@im01.bench").strip().splitlines()[-1]
        codes = publish_at_rate(ij_url, token, rate, seconds)
        time.sleep(5)  # let the last changes arrive
        return latencies(WORK / "IM01.sqlite3", codes)
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(10)
        for server in servers:
            server.stop()


def publish_at_rate(url: str, token: str, rate: float, seconds: float) -> set[str]:
    """Publish, then edit, listings at `rate` changes per second for `seconds`."""
    import httpx

    codes: list[str] = []
    headers = {"Authorization": f"Bearer {token}"}
    interval, started, n, took = 1 / rate, time.perf_counter(), 0, []
    with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
        while time.perf_counter() - started < seconds:
            sent = time.perf_counter()
            if n % 5 == 0 or not codes:
                codes.append(client.post("/api/v1/listings", json=gpu_document(n)).json()["code"])
            else:
                client.patch(f"/api/v1/listings/{codes[n % len(codes)]}", json={"unit_price": 1000 + n})
            took.append(time.perf_counter() - sent)
            n += 1
            time.sleep(max(0.0, started + n * interval - time.perf_counter()))
    took.sort()
    p50, p95 = took[len(took) // 2] * 1000, took[int(len(took) * 0.95)] * 1000
    print(f"  {n} changes in {time.perf_counter() - started:.1f} s; a seller's request p50 {p50:.0f}, p95 {p95:.0f} ms")
    return set(codes)


def gpu_document(n: int) -> dict:
    """A GPU listing as a seller's API client sends it."""
    return {"title": f"Bench H100 pod {n}", "resource_type": "gpu", "gpu_model": "H100", "gpu_count": 8,
            "gpu_memory_gb": 80, "region": "11", "unit_price": 2000 + n, "price_unit": "gpu_hour", "quantity": 2,
            "available_from": "2026-01-01T00:00:00+08:00", "available_until": "2027-01-01T00:00:00+08:00"}  # fmt: skip


def latencies(origin_db: Path, codes: set[str]) -> dict:
    import sqlite3

    with sqlite3.connect(origin_db) as conn:
        made = {(c, v): t for c, v, t in conn.execute("SELECT listing_code, version, created_at FROM outbox_event")}
    with psycopg.connect(DSN) as conn:
        seen = {(c, v): t for c, v, t in conn.execute(
            "SELECT listing_code, version, created_at FROM catalogue_change WHERE origin = 'IM01'")}  # fmt: skip
    delays = []
    for key, created in made.items():
        if key in seen:
            origin_time = datetime.fromisoformat(str(created)).replace(tzinfo=UTC)
            delays.append((seen[key] - origin_time).total_seconds())
    delays.sort()
    return {"changes": len(made), "arrived": len(delays), "p50": statistics.median(delays),
            "p95": delays[int(len(delays) * 0.95) - 1]}  # fmt: skip


def idle_round(national: benchkit.Server, rounds: int = 100) -> float:
    """Milliseconds for one sync round with nothing to push and an empty feed."""
    from marketplace.sync.worker import SyncWorker

    app = in_process_node("R45", "regional", national.url)
    with app.app_context():
        register("R45", "regional", "N0", "http://127.0.0.1:9", public_jwks())
    start_at_feed_end(app)
    worker = SyncWorker(app)
    worker.once()  # tokens cached, connections warm
    started = time.perf_counter()
    for _ in range(rounds):
        summary = worker.once()
        assert summary == {"pushed": 0, "received": 0, "applied": 0}, summary
    return (time.perf_counter() - started) / rounds * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--catalogue", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    for stale in WORK.glob("*"):
        stale.unlink()
    print(f"national catalogue: {args.catalogue:,} listings", flush=True)
    prepare_national(args.catalogue)
    port = benchkit.free_port()
    url = f"http://127.0.0.1:{port}"
    env = node_env("N0", "national", url, url, DSN)
    benchkit.flask(env, "keys", "init", "--if-missing")
    national = benchkit.Server("N0", "app:app", env, WORK, port=port)
    try:
        national.wait_healthy()
        push = push_throughput(national, args.events)
        print(
            f"push: {push['events_per_s']:,.0f} events/s; bare upsert {push['bare_rows_per_s']:,.0f} rows/s", flush=True
        )
        latency = propagation(national, args.rate, args.seconds)
        print(f"propagation: p50 {latency['p50']:.2f} s, p95 {latency['p95']:.2f} s ({latency['arrived']} changes)")
        idle = idle_round(national)
        print(f"idle round: {idle:.1f} ms", flush=True)
    finally:
        national.stop()
    write_results(args, push, latency, idle)
    return 0


def write_results(args, push: dict, latency: dict, idle: float) -> None:
    ratio = push["events_per_s"] / push["bare_rows_per_s"]

    def mark(met: bool) -> str:
        return "met" if met else "MISSED"

    section = f"""<!-- sync -->
## Sync, PostgreSQL

- command: `.venv/bin/python bench/sync.py --events {args.events} --catalogue {args.catalogue} --rate {args.rate:g} --seconds {args.seconds:g}`
- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: nproc {os.cpu_count()}; PostgreSQL {postgresql_version()}
- national: gunicorn (gunicorn.conf.py) on PostgreSQL holding {args.catalogue:,} listings. Push: a regional node in the
  benchmark process (SQLite) runs its own sync worker's push, {PUSH_CONCURRENCY} batches of 500 in flight. Propagation:
  R11 and IM01 are gunicorn nodes on SQLite with their `flask sync run` workers at default settings, established
  (their feed cursors at the feed's end); a seller's API client publishes and edits at IM01.
- bare upsert: the same rows, the same guarded `INSERT … ON CONFLICT (code) DO UPDATE … WHERE version <`, batches of
  500, psycopg `executemany` on one connection, no HTTP, tokens, JWS or validation

| measure | figure | target |
|---|---:|---|
| push throughput, {push["events"]:,} events regional → national over HTTP | {push["events_per_s"]:,.0f} events/s | ≥ 5,000 events/s: {mark(push["events_per_s"] >= 5000)} |
| bare bulk upsert of the same rows into the same database | {push["bare_rows_per_s"]:,.0f} rows/s | |
| push / bare upsert | {ratio:.0%} | ≥ 40%: {mark(ratio >= 0.4)} |
| propagation IM01 → R11 → N0, {latency["changes"]} changes in {args.seconds:g} s, p50 | {latency["p50"]:.2f} s | |
| propagation p95 ({latency["arrived"]} of {latency["changes"]} changes arrived) | {latency["p95"]:.2f} s | ≤ 2 s: {mark(latency["p95"] <= 2 and latency["arrived"] == latency["changes"])} |
| an idle sync round against {args.catalogue:,} listings at national | {idle:.1f} ms | ≤ 50 ms: {mark(idle <= 50)} |
<!-- /sync -->"""  # noqa: E501
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    pattern = re.compile(r"<!-- sync -->.*?<!-- /sync -->", re.S)
    text = (
        pattern.sub(lambda _m: section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section + "\n"
    )
    path.write_text(text)
    print("wrote bench/RESULTS.md")


if __name__ == "__main__":
    tempfile.tempdir = str(WORK)
    raise SystemExit(main())
