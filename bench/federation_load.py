"""The federation under load (issue #16): 54 origins push changes to national while buyers search it.

National N0 runs as a gunicorn node (gunicorn.conf.py, no worker recycling) on PostgreSQL holding --rows
listings (bench/search_data.py's catalogue, 1,000,000 by default). 34 regional and 20 industry origins, each
with its own signing keys, apply at national through the registry API and are approved by its reviewers, as a
node is. 33 regional origins and the 20 industry ones are light nodes in this process: each is the app on a
SQLite database of its own whose seller changes listings through the listing services (the real outbox writes
and signs the events) at --rate changes per second, a thread per node running its sync worker's push (the
real push steps, polled every 0.2 s as `flask sync run` does) and, unless --no-feed, reading national's feed
every second as a node's worker does (the pages are read, not applied). The industry origins' parent is R32,
a full regional node: gunicorn and its own `flask sync run` on PostgreSQL, which takes their pushes and
relays them to national, and whose seller changes its own listings too. National's own sync worker does not
run (it would probe the light nodes, which serve no HTTP).

Buyers search national with wrk at --search-rate requests per second (paced by wrk's delay()), cycling
through bench/search.py's searches; first without the load, then during it. Printed: national's applied
events per second, propagation from an origin's outbox to national's feed (industry origins through R32,
regional ones direct), search p50/p99 without and with the load, and whether every event arrived: each
origin's outbox against national's feed, and each origin's snapshot digest (PROTOCOL.md §6) against
national's copy of that origin's listings.

    nice -n 19 .venv/bin/python bench/federation_load.py --rows 1000000 [--rate 2] [--seconds 60]
"""

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import benchkit  # noqa: E402
import httpx  # noqa: E402
import psycopg  # noqa: E402
import search  # noqa: E402
import search_data  # noqa: E402
from sqlalchemy import select  # noqa: E402

from marketplace import create_app  # noqa: E402
from marketplace.accounts.services import create_api_token, create_user, set_review_scope  # noqa: E402
from marketplace.federation.client import call_node  # noqa: E402
from marketplace.federation.keys import init_keys, public_jwks  # noqa: E402
from marketplace.identity.codes import encode_serial, format_code  # noqa: E402
from marketplace.listings.schemas import ListingSchema  # noqa: E402
from marketplace.listings.services import find_listing, publish_listing, update_listing  # noqa: E402
from marketplace.models import NodeSerial, OutboxEvent  # noqa: E402
from marketplace.sync.snapshot import snapshot  # noqa: E402
from marketplace.sync.worker import SyncWorker  # noqa: E402

WORK = ROOT / "bench" / "_work" / "federation_load"
PG_URL = "postgresql://postgres@127.0.0.1/bench_fedload"
# The 34 province-level regions (GB/T 2260); R32 is the full regional node, parent of the industry nodes.
PROVINCES = ("11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 "
             "71 81 82").split()  # fmt: skip
RELAY = "R32"
# One industry node per GB/T 4754 section A–T; IJ01 is taken by the loaded catalogue, so finance is IJ02.
INDUSTRIES = [f"I{letter}{'02' if letter == 'J' else '01'}" for letter in "ABCDEFGHIJKLMNOPQRST"]
POLL, PULL = 0.2, 1.0  # the sync worker's defaults: look for waiting events, read national's feed
PASSWORD = "bench-password-fedload"
# Python finds gunicorn and flask beside itself: a worktree has no .venv of its own.
BIN = Path(sys.executable).parent
SERVERS: dict[str, benchkit.Server] = {}
benchkit.GUNICORN = benchkit.GUNICORN if benchkit.GUNICORN.exists() else BIN / "gunicorn"


def node_env(code: str, role: str, url: str, national: str, database_url: str, parent: str = "") -> dict:
    return {"DATABASE_URL": database_url, "NODE_CODE": code, "NODE_ROLE": role, "PUBLIC_URL": url,
            "NATIONAL_URL": national, "PARENT_URL": parent or national, "SECRET_KEY": f"bench-{code}",
            "SIGNING_KEYS_FILE": str(WORK / f"{code}.keys.json"),
            "FEDERATION_ALLOW_PRIVATE_ADDRESSES": "1"}  # fmt: skip


def app_for(env: dict):
    return create_app({k: (v == "1" if k == "FEDERATION_ALLOW_PRIVATE_ADDRESSES" else v) for k, v in env.items()})


def prepare_national(url: str, rows: int, reload: bool) -> None:
    """A fresh copy of the loaded catalogue: loaded once into `<name>_tpl`, copied for every run."""
    server, name = url.rsplit("/", 1)
    template = f"{server}/{name}_tpl"
    search_data.ensure_database(template)
    have, revision = search_data.state_postgresql(template)
    if have != rows or reload:
        print(f"data: loading {rows:,} listings into {template} (had {have if have is not None else 'none'})")
        search_data.load_postgresql(template, rows)
    elif revision != search_data.migrations_head():
        search_data.migrate(template)
        search_data.analyze(template)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{name}_tpl" STRATEGY FILE_COPY')
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def fresh_database(url: str) -> None:
    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


class Registry:
    """National's registry, used as organisations and reviewers use it: applications and reviews over HTTP."""

    def __init__(self, national_url: str, national_db: str):
        self.url = national_url
        app = create_app({"DATABASE_URL": national_db, "NODE_CODE": "N0", "NODE_ROLE": "national",
                          "SECRET_KEY": "bench-accounts", "PUBLIC_URL": national_url})  # fmt: skip
        self.accounts = app
        self.final = self._token("reviewer@national.bench", "national_reviewer")
        self.initial = self._token("reviewer@r32.bench", "local_reviewer", scope=RELAY[1:])

    def _token(self, email: str, role: str, scope: str | None = None) -> str:
        """An account at national and an API token for it, made by the services `flask users/tokens` call."""
        with self.accounts.app_context(), self.accounts.extensions["db"].session() as session:
            user = create_user(session=session, email=email, password=PASSWORD, role=role, name=email.split("@")[0])
            if scope:
                set_review_scope(session=session, user=user, scope=scope)
            plain, _token = create_api_token(session=session, user=user, name="bench")
            session.commit()
            return plain

    def register(self, code: str, role: str, parent: str, public_url: str, jwks: dict, n: int) -> None:
        """Apply for `code` with its own applicant account (from an address of its own) and approve it."""
        applicant = self._token(f"applicant@{code.lower()}.bench", "buyer")
        entry = {"role": role, "requested_code": code, "parent": parent,
                 "construction_entity": {"name": f"{code} Computing Construction Co.",
                                         "registered_capital_cny": 80_000_000},
                 "operating_entity": {"name": f"{code} Computing Operations Co.", "telecom_licence": "B1-20231234"},
                 "contact": {"name": "Chen Jing", "email": f"ops@{code.lower()}.example.cn",
                             "phone": "+86 20 8888 0000"},
                 "public_url": public_url, "jwks": jwks}  # fmt: skip
        entry |= {"province": code[1:]} if role == "regional" else {"industry": code[1]}
        # National sits behind one proxy here (TRUSTED_PROXIES=1): each organisation applies from its own address.
        forwarded = {"X-Forwarded-For": f"10.{n // 250}.{n % 250}.7"}
        with httpx.Client(base_url=self.url, timeout=30, headers=forwarded) as client:
            applied = client.post("/registry/v1/applications", json=entry,
                                  headers={"Authorization": f"Bearer {applicant}"})  # fmt: skip
            if applied.status_code != 201:
                raise RuntimeError(f"{code}: application answered {applied.status_code}: {applied.text}")
            for stage in ["initial", "final"] if role == "industry" else ["final"]:
                reviewer = self.initial if stage == "initial" else self.final
                reviewed = client.post(f"/registry/v1/applications/{applied.json()['id']}/reviews",
                                       headers={"Authorization": f"Bearer {reviewer}"},
                                       json={"stage": stage, "decision": "approve", "reason": "Checked."})  # fmt: skip
                if reviewed.status_code != 201:
                    raise RuntimeError(f"{code} {stage} review: {reviewed.status_code} {reviewed.text}")


class Origin:
    """A node whose seller changes listings at a steady rate; a light one also pushes with its sync worker."""

    def __init__(self, code: str, app, *, light: bool, first_serial: int):
        self.code, self.app, self.light = code, app, light
        self.worker = SyncWorker(app)
        self.codes: list[str] = []
        self.changes = self.push_errors = self.feed_pages = 0
        self.feed_after: str | None = None
        with app.app_context(), self.session() as session:
            self.seller = create_user(session=session, email=f"seller@{code.lower()}.bench", password=PASSWORD,
                                      role="seller", name=f"Seller {code}",
                                      organization=f"{code} Computing Co.")  # fmt: skip
            # Codes go on after the ones national already holds of this origin (the loaded catalogue's).
            session.merge(NodeSerial(node_code=code, last_serial=first_serial))
            session.commit()

    def session(self):
        return self.app.extensions["db"].session()

    def change(self, n: int) -> None:
        """One seller's change: a new listing every fifth change, else a new price for one of its listings."""
        with self.app.app_context(), self.session() as session:
            if n % 5 == 0 or not self.codes:
                data = ListingSchema().load(listing_payload(self.code, n))
                self.codes.append(publish_listing(session=session, seller=self.seller, node_code=self.code,
                                                  data=data).code)  # fmt: skip
            else:
                listing = find_listing(session=session, code=self.codes[n % len(self.codes)])
                update_listing(session=session, listing=listing, changes={"unit_price": 1500 + n % 1000})
            session.commit()
        self.changes += 1

    def push(self) -> None:
        try:
            self.worker.push_if_pending()
        except Exception:  # the next poll sends it again, as the worker's breaker would
            self.push_errors += 1

    def read_feed(self, national_url: str) -> None:
        """A page of national's feed, read as the worker reads it (GET /changes with a node token)."""
        params = {"limit": 500} | ({"after": self.feed_after} if self.feed_after else {})
        with self.app.app_context():
            response = call_node("GET", f"{national_url}/federation/v1/changes", audience="N0",
                                 scope="listings:read", params=params)  # fmt: skip
        if response.status_code == 200:
            self.feed_after = response.json().get("next_cursor") or self.feed_after
            self.feed_pages += 1

    def run(self, rate: float, stop: threading.Event, national_url: str, feed: bool, nice: bool) -> None:
        """Changes at `rate` per second until `stop`; a light node pushes every POLL and reads the feed every PULL."""
        if nice:
            # The origins stand for other machines: on this one they yield the cores to national, its database
            # and the buyers' wrk whenever those want them (Linux: a thread's own priority).
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        started, n, next_pull = time.monotonic(), 0, time.monotonic()
        while not stop.is_set():
            now = time.monotonic()
            if now >= started + n / rate:
                self.change(n)
                n += 1
            if self.light:
                self.push()
                if feed and now >= next_pull:
                    self.read_feed(national_url)
                    next_pull = now + PULL
            stop.wait(max(0.0, min(started + n / rate, now + POLL) - time.monotonic()))

    def drain(self) -> None:
        if self.light:
            self.push()


def listing_payload(origin: str, n: int) -> dict:
    """A GPU listing as a seller writes it."""
    return {"title": f"{origin} H100 pod {n}", "description": "NVLink, 400G InfiniBand.", "resource_type": "gpu",
            "gpu_model": "H100", "gpu_count": 8, "gpu_memory_gb": 80, "region": "52", "city": "Guiyang",
            "datacenter": "Gui'an DC-3", "latency_ms": 1.5, "unit_price": 2000 + n % 500, "currency": "cny",
            "price_unit": "gpu_hour", "quantity": 4, "available_from": "2026-01-01T00:00:00+08:00",
            "available_until": "2027-06-01T00:00:00+08:00"}  # fmt: skip


def first_serials(url: str) -> dict[str, int]:
    """The highest serial national holds under each origin of the loaded catalogue."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT origin, max(code) FROM listing GROUP BY origin").fetchall()
    return {origin: int(code.split("-")[1], 36) for origin, code in rows}


def sqlite_template() -> Path:
    """One migrated SQLite database, copied for each light node (53 migrations would take minutes)."""
    path = WORK / "template.sqlite3"
    search_data.migrate(f"sqlite:///{path}")
    return path


def search_paths(url: str) -> list[str]:
    """bench/search.py's searches (all but the deep cursor page), as request paths."""
    rare = search_data.rare_term(url)
    return [f"/api/v1/listings?{s.query_string}" for s in search.make_scenarios(0, rare) if s.name != "deep_cursor"]


def run_search(national_url: str, paths: list[str], seconds: int, rate: float, connections: int) -> dict:
    """wrk cycling through `paths` at about `rate` requests per second (each connection waits between requests)."""
    delay_ms = max(1, int(connections * 1000 / rate))
    script = WORK / "searches.lua"
    script.write_text("paths = {" + ", ".join(json.dumps(p) for p in paths) + "}\ni = 0\n"
                      "request = function() i = i % #paths + 1; return wrk.format('GET', paths[i]) end\n"
                      f"delay = function() return {delay_ms} end\n")  # fmt: skip
    command = [benchkit.WRK, "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency",
               "-s", str(script), national_url]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    result = benchkit.parse_wrk(done.stdout)
    return {"p50": result.p50_ms, "p99": result.p99_ms, "rps": result.rps, "requests": result.requests,
            "errors": result.errors}  # fmt: skip


def feed_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM catalogue_change").fetchone()[0]


def outbox_events(origin: Origin) -> dict[tuple[str, int], datetime]:
    """(code, version) -> when the origin's outbox recorded it, UTC."""
    with origin.app.app_context(), origin.session() as session:
        rows = session.execute(select(OutboxEvent.listing_code, OutboxEvent.version, OutboxEvent.created_at)).all()
    return {(c, v): (t if t.tzinfo else t.replace(tzinfo=UTC)) for c, v, t in rows}


def national_feed(url: str) -> dict[tuple[str, int], datetime]:
    """(code, version) -> when national applied it (its feed entry is written in the same transaction)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT listing_code, version, min(created_at) FROM catalogue_change "
                            "GROUP BY listing_code, version").fetchall()  # fmt: skip
    return {(c, v): t for c, v, t in rows}


def digest(entries: list) -> str:
    """The snapshot digest of PROTOCOL.md §6 over [code, version, sha256] entries (marketplace/sync/snapshot.py)."""
    return hashlib.sha256("".join(f"{c}:{v}:{h}\n" for c, v, h in entries).encode()).hexdigest()


def converged(origin: Origin, national_url: str, national_db: str, first_code: str, loaded: bool) -> bool:
    """Whether national's copy of the origin's listings has the origin's own snapshot digest.

    Origins without loaded listings: national's snapshot over HTTP, as a node asks for it. Origins of the
    loaded catalogue: national's rows of the codes minted in this run, digested alike (a snapshot of hundreds
    of thousands of listings is not what is measured here).
    """
    with origin.app.app_context(), origin.session() as session:
        own = snapshot(session=session, origin=origin.code, own_code=origin.code)
    if not loaded:
        with origin.app.app_context():
            response = call_node("GET", f"{national_url}/federation/v1/nodes/{origin.code}/snapshot",
                                 audience="N0", scope="listings:read", timeout=60)  # fmt: skip
        response.raise_for_status()
        return response.json()["digest"] == own["digest"]
    with psycopg.connect(national_db) as conn:
        rows = conn.execute(
            "SELECT code, version, encode(sha256(convert_to(document, 'UTF8')), 'hex') FROM listing "
            "WHERE origin = %s AND code >= %s ORDER BY code", (origin.code, first_code)
        ).fetchall()  # fmt: skip
    return digest([list(row) for row in rows]) == own["digest"]


def percentiles(values: list[float]) -> dict:
    values = sorted(values)
    if not values:
        return {"n": 0, "p50": float("nan"), "p95": float("nan"), "p99": float("nan")}
    pick = lambda q: values[min(len(values) - 1, int(len(values) * q))]  # noqa: E731
    return {"n": len(values), "p50": statistics.median(values), "p95": pick(0.95), "p99": pick(0.99)}


def bring_up(args, stack) -> tuple[str, str, list[Origin], dict[str, int]]:
    """National, the relay R32 with its sync worker, and the light nodes, each registered at national."""
    port = benchkit.free_port()
    national_url = f"http://127.0.0.1:{port}"
    national_env = node_env("N0", "national", national_url, national_url, args.pg_url) | {"TRUSTED_PROXIES": "1"}
    benchkit.flask(national_env, "keys", "init")
    national = benchkit.Server("N0", "app:app", national_env, WORK, port=port)
    stack.callback(national.stop)
    national.wait_healthy()
    # As README's "Running national at scale" advises: pushes (and the feed its children read) go to web hosts
    # of their own, the same program and settings on the same database, so searches never wait behind them.
    sync_url = national_url
    if not args.one_host:
        sync_port = benchkit.free_port()
        sync_url = f"http://127.0.0.1:{sync_port}"
        sync_host = benchkit.Server("N0-sync", "app:app", national_env, WORK, port=sync_port)
        stack.callback(sync_host.stop)
        sync_host.wait_healthy()
    registry = Registry(national_url, args.pg_url)
    serials = first_serials(args.pg_url)

    relay_db, relay_port = f"{args.pg_url}_r32", benchkit.free_port()
    fresh_database(relay_db)
    relay_url = f"http://127.0.0.1:{relay_port}"
    relay_env = node_env(RELAY, "regional", relay_url, national_url, relay_db, parent=sync_url)
    benchkit.flask(relay_env, "db", "upgrade")
    benchkit.flask(relay_env, "keys", "init")
    relay = benchkit.Server(RELAY, "app:app", relay_env, WORK, port=relay_port)
    stack.callback(relay.stop)
    relay.wait_healthy()
    registry.register(RELAY, "regional", "N0", relay_url, benchkit.get_json(f"{relay_url}/.well-known/jwks.json"), 0)
    with (WORK / f"{RELAY}.sync.log").open("w") as log:
        worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "sync", "run"], cwd=ROOT,
                                  env=os.environ | relay_env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)  # fmt: skip
    stack.callback(lambda: (worker.terminate(), worker.wait(30)))
    origins = [Origin(RELAY, app_for(relay_env), light=False, first_serial=0)]

    template = sqlite_template()
    light = [(f"R{p}", "regional") for p in PROVINCES if f"R{p}" != RELAY] + [(c, "industry") for c in INDUSTRIES]
    for n, (code, role) in enumerate(light, start=1):
        database = WORK / f"{code}.sqlite3"
        shutil.copyfile(template, database)
        env = node_env(code, role, f"http://{code.lower()}.nodes.bench.example", national_url,
                       f"sqlite:///{database}", parent=relay_url if role == "industry" else sync_url)  # fmt: skip
        app = app_for(env)
        with app.app_context():
            init_keys()
            jwks = public_jwks()
        registry.register(code, role, RELAY if role == "industry" else "N0", env["PUBLIC_URL"], jwks, n)
        origins.append(Origin(code, app, light=True, first_serial=serials.get(code, 0)))
    print(f"registered at national: {len(origins)} origins ({RELAY} a full node, {len(light)} light)", flush=True)
    SERVERS.update(national=national, relay=relay)
    if not args.one_host:
        SERVERS["national_sync"] = sync_host
    return national_url, sync_url, origins, serials


def load_round(args, national_url: str, sync_url: str, origins: list[Origin], paths: list[str]) -> dict:
    """Every origin changes listings while buyers search; what national applied meanwhile."""
    stop = threading.Event()
    settings = (args.rate, stop, sync_url, not args.no_feed, not args.origins_compete)
    threads = [threading.Thread(target=o.run, args=settings, daemon=True) for o in origins]
    for thread in threads:
        thread.start()
    time.sleep(args.warmup)
    before, started = feed_count(args.pg_url), time.monotonic()
    made = sum(o.changes for o in origins)
    cpu = cpu_now()
    searched = run_search(national_url, paths, args.seconds, args.search_rate, args.connections)
    applied, elapsed = feed_count(args.pg_url) - before, time.monotonic() - started
    made = sum(o.changes for o in origins) - made
    cores = {name: (used - cpu[name]) / elapsed for name, used in cpu_now().items()}
    stop.set()
    for thread in threads:
        thread.join(60)
    return {"search": searched, "applied": applied, "applied_per_s": applied / elapsed, "seconds": elapsed,
            "offered_per_s": args.rate * len(origins),
            "made_per_s": made / elapsed, "push_errors": sum(o.push_errors for o in origins),
            "cores": cores}  # fmt: skip


def cpu_now() -> dict[str, float]:
    """CPU seconds so far: national's gunicorn, R32's gunicorn, this process (the light nodes), the machine."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    sync_host = SERVERS.get("national_sync")
    return {"national": benchkit.tree_cpu_seconds(SERVERS["national"].process.pid),
            "national sync": benchkit.tree_cpu_seconds(sync_host.process.pid) if sync_host else 0.0,
            "relay": benchkit.tree_cpu_seconds(SERVERS["relay"].process.pid),
            "light nodes": own.ru_utime + own.ru_stime, "machine": benchkit.busy_cpu_seconds()}  # fmt: skip


def drain(args, origins: list[Origin]) -> tuple[float, set]:
    """Seconds until every origin's every event is in national's feed (or the timeout); what is missing then."""
    started = time.monotonic()
    while True:
        for origin in origins:
            origin.drain()
        fed = national_feed(args.pg_url).keys()
        missing = {key for origin in origins for key in outbox_events(origin) if key not in fed}
        if not missing or time.monotonic() - started > args.drain_timeout:
            return time.monotonic() - started, missing
        time.sleep(1.0)


def summarize(args, national_url, origins, serials, quiet, load, drained, missing) -> str:
    """Propagation, convergence and the search figures, as bench/RESULTS.md's section."""
    fed = national_feed(args.pg_url)
    delays: dict[str, list[float]] = {"industry": [], "regional": []}
    events = 0
    for origin in origins:
        made = outbox_events(origin)
        events += len(made)
        kind = "industry" if origin.code.startswith("I") else "regional"
        delays[kind] += [(fed[key] - at).total_seconds() for key, at in made.items() if key in fed]
    first = {o.code: format_code(o.code, encode_serial(serials.get(o.code, 0) + 1)) for o in origins}
    diverged = [o.code for o in origins
                if not converged(o, national_url, args.pg_url, first[o.code], o.code in serials)]  # fmt: skip
    industry, regional = percentiles(delays["industry"]), percentiles(delays["regional"])
    ratio = load["search"]["p99"] / quiet["p99"]
    with psycopg.connect(args.pg_url) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
    trial = (
        ""
        if args.rows >= 1_000_000
        else (
            f"\n\n**Small-catalogue trial ({args.rows:,} listings), not the target's 1,000,000**; the machine "
            "was shared with other work, so the search figures are noisy."
        )
    )
    cpu = " / ".join(f"{load['cores'][k]:.2f}" for k in ("national", "national sync", "relay", "light nodes",
                                                            "machine"))  # fmt: skip
    hosts = (
        "one gunicorn serves searches, pushes and the feed (`--one-host`)"
        if args.one_host
        else "two gunicorns on one database, as README's 'Running national at scale' advises: one serves the "
        "buyers' searches, the other the children's pushes and feed reads"
    )
    feed_note = "" if args.no_feed else ", national's feed read every second"
    mark = lambda ok: "met" if ok else "MISSED"  # noqa: E731
    settings = " ".join(benchkit.gunicorn_settings()).replace(str(ROOT) + "/", "")
    flags = f" --rate {args.rate:g} --seconds {args.seconds} --search-rate {args.search_rate:g}"
    flags += " --no-feed" if args.no_feed else ""
    flags += " --one-host" if args.one_host else ""
    flags += " --origins-compete" if args.origins_compete else ""
    origins_cpu = (
        "at normal priority (`--origins-compete`), competing with national for the 2 cores"
        if args.origins_compete
        else "at nice 19 (they stand for other machines: on this one they yield the cores to national, "
        "its database and wrk)"
    )
    return f"""<!-- federation_load -->
## Federation under load

- command: `nice -n 19 .venv/bin/python bench/federation_load.py --rows {args.rows}{flags}`
- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: nproc {os.cpu_count()}; PostgreSQL {pg}; national: gunicorn `{settings}`{trial}
- national's web hosts: {hosts}; the light nodes' threads run {origins_cpu}
- national N0 on PostgreSQL with {args.rows:,} listings; 34 regional and 20 industry origins, each with its own keys,
  applied and approved through national's registry API. {len(origins) - 1} are light nodes in the benchmark's process
  (the app on SQLite: listing services, outbox, the sync worker's push every {POLL} s{feed_note});
  {RELAY} is a full regional node (gunicorn + `flask sync run`, PostgreSQL), the industry origins' parent, relaying their events.
  Each origin's seller makes {args.rate:g} changes/s (a new listing every fifth, else a new price): {load["offered_per_s"]:.0f} changes/s offered.
- buyers: wrk, {args.connections} connections paced to ~{args.search_rate:g} searches/s, cycling through bench/search.py's
  {len(search_paths(args.pg_url))} searches, {args.seconds} s without the load, then {args.seconds} s during it (after {args.warmup:g} s of load).

| measure | figure | target |
|---|---:|---|
| national applied events/s during the load ({load["applied"]:,} in {load["seconds"]:.0f} s) | {load["applied_per_s"]:.1f} | origins made {load["made_per_s"]:.1f}/s (asked {load["offered_per_s"]:.0f}/s) |
| propagation industry origin → {RELAY} → national, p50 / p95 / p99 ({industry["n"]:,} events) | {industry["p50"]:.2f} / {industry["p95"]:.2f} / {industry["p99"]:.2f} s | |
| propagation regional origin → national, p50 / p95 / p99 ({regional["n"]:,} events) | {regional["p50"]:.2f} / {regional["p95"]:.2f} / {regional["p99"]:.2f} s | |
| search without load, p50 / p99 ({quiet["requests"]:,} requests, {quiet["errors"]} errors) | {quiet["p50"]:.1f} / {quiet["p99"]:.1f} ms | |
| search under load, p50 / p99 ({load["search"]["requests"]:,} requests, {load["search"]["errors"]} errors) | {load["search"]["p50"]:.1f} / {load["search"]["p99"]:.1f} ms | |
| CPU during the load, in cores: national's search gunicorn / its sync gunicorn / {RELAY}'s gunicorn / the light nodes' process / whole machine | {cpu} | of {os.cpu_count()} |
| search p99 under load / without | {ratio:.2f}× | ≤ 2×: {mark(ratio <= 2)} |
| events that never reached national (of {events:,}; last one {drained:.0f} s after the load stopped) | {len(missing)} | 0: {mark(not missing)} |
| origins whose catalogue at national differs by snapshot digest (of {len(origins)}) | {len(diverged)}{": " + ", ".join(diverged) if diverged else ""} | 0: {mark(not diverged)} |
<!-- /federation_load -->"""  # noqa: E501


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="listings in national's catalogue")
    parser.add_argument("--pg-url", default=PG_URL, help="national's database (loaded once into <name>_tpl)")
    parser.add_argument("--reload", action="store_true", help="load the catalogue afresh")
    parser.add_argument(
        "--rate",
        type=float,
        default=0.5,
        help="changes per second at each of the 54 origins (0.5: ~2.3 million a day in all, a node of ~10,000 "
        "listings each changing a few times a day)",
    )
    parser.add_argument("--seconds", type=int, default=60, help="each search measurement, with and without load")
    parser.add_argument("--warmup", type=float, default=10, help="load before the loaded search measurement")
    parser.add_argument("--search-rate", type=float, default=40, help="buyers' searches per second at national")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (buyers searching at once)")
    parser.add_argument("--no-feed", action="store_true", help="light nodes do not read national's feed")
    parser.add_argument(
        "--origins-compete",
        action="store_true",
        help="the light nodes' threads run at normal priority (default: nice 19, as if elsewhere)",
    )
    parser.add_argument("--one-host", action="store_true",
                        help="pushes and feed reads go to the gunicorn that serves the searches (default: one of "
                             "their own, as README's 'Running national at scale' advises)")  # fmt: skip
    parser.add_argument("--drain-timeout", type=float, default=300, help="longest wait for the last events")
    parser.add_argument("--quiet-cores", type=float, default=0.5, help="wait until others use fewer cores")
    parser.add_argument("--quiet-wait", type=float, default=60, help="longest wait for a quiet moment")
    parser.add_argument("--no-results", action="store_true", help="do not write bench/RESULTS.md")
    args = parser.parse_args(argv)
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    prepare_national(args.pg_url, args.rows, args.reload)
    with ExitStack() as stack:
        national_url, sync_url, origins, serials = bring_up(args, stack)
        paths = search_paths(args.pg_url)
        for path in paths:  # warm the caches and every worker's first connection
            benchkit.get_json(national_url + path)
        benchkit.wait_quiet(args.quiet_cores, timeout=args.quiet_wait)
        quiet = run_search(national_url, paths, args.seconds, args.search_rate, args.connections)
        print(f"search without load: p50 {quiet['p50']:.1f} ms, p99 {quiet['p99']:.1f} ms, {quiet['rps']:.1f}/s",
              flush=True)  # fmt: skip
        load = load_round(args, national_url, sync_url, origins, paths)
        print(f"search under load: p50 {load['search']['p50']:.1f} ms, p99 {load['search']['p99']:.1f} ms; "
              f"national applied {load['applied_per_s']:.1f} events/s", flush=True)  # fmt: skip
        drained, missing = drain(args, origins)
        report = summarize(args, national_url, origins, serials, quiet, load, drained, missing)
    print(report)
    if not args.no_results:
        benchkit.write_results_section("federation_load", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
