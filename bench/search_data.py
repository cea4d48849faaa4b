"""Realistic listing rows for the search benchmark, loaded straight into the database (not through the API)."""

import itertools
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from marketplace.identity.codes import encode_serial, format_code
from marketplace.listings import demo
from marketplace.listings.documents import render_document
from marketplace.listings.vocabulary import price_per_gpu_hour

ROOT = Path(__file__).resolve().parent.parent
SEED = 2026

COLUMNS = (
    "code", "origin", "version", "status", "title", "description", "resource_type",
    "gpu_model", "gpu_count", "gpu_memory_gb", "vcpus", "memory_gb", "storage_gb", "bandwidth_gbps",
    "model_name", "tokens_per_second", "region", "city", "city_code", "datacenter", "latency_ms",
    "unit_price", "currency", "price_unit", "price_per_gpu_hour", "quantity",
    "available_from", "available_until", "seller_name", "seller_org", "created_at", "updated_at", "stale_since",
    "capacity", "document",
)  # fmt: skip

# This node (R44) holds most of the catalogue; the rest arrived from other nodes of the federation.
_ORIGINS = (("R44", 60), ("R11", 12), ("R31", 10), ("R52", 8), ("R15", 6), ("IJ01", 4))
# One origin has been unreachable for long: its listings are stale, shown only with include_stale=true.
STALE_ORIGIN = "IJ01"
# Search reads only published listings; the others still sit in the table (and must not be scanned).
_STATUSES = (("published", 90), ("paused", 4), ("draft", 3), ("retired", 3))

# Thousands of sellers rather than the demo's nine, so that a seller's brand is a selective search term.
_SYLLABLES = ("zhi", "rui", "xin", "hua", "tian", "yun", "qi", "heng", "tai", "jin", "long", "feng", "chen",
              "bo", "kang", "sheng", "wei", "ming", "shu", "ze", "kai", "peng", "jia", "yao", "lan", "yi",
              "xu", "meng", "hong", "tong")  # fmt: skip
_SURNAMES = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu", "Xu", "Sun", "Ma",
             "Zhu", "Hu", "Guo", "He", "Lin", "Luo", "Gao", "Zheng", "Liang", "Xie", "Song", "Tang", "Han")  # fmt: skip
_ORG_KINDS = ("Computing Co., Ltd.", "Cloud Technology Co., Ltd.", "Data Services Co., Ltd.",
              "Intelligent Computing Co., Ltd.")  # fmt: skip
# Published capacity (§3) as #12 describes a national catalogue: most listings 0–3 intervals, a tenth 20 or more.
_INTERVAL_COUNTS = ((0, 50), (1, 20), (2, 12), (3, 8), (20, 4), (30, 3), (50, 2), (100, 1))
SELLER_COUNT = 3000
TEXT_TERM_SELLER = 137  # the seller whose brand the text-search scenario looks for


def seller_pool(seed: int = SEED) -> list[tuple[str, str, str]]:
    """(brand, person name, organization) of every seller; brands are two pinyin syllables."""
    rng = random.Random(seed)
    brands = [(a + b).capitalize() for a, b in itertools.permutations(_SYLLABLES, 2)]
    # A brand that begins another brand would widen a prefix search beyond one seller family.
    brands = [b for b in brands if not any(o != b and o.startswith(b) for o in brands)]
    pool = set()
    while len(pool) < SELLER_COUNT:
        pool.add((rng.choice(brands), rng.choice(_ORG_KINDS)))
    sellers = []
    for brand, kind in sorted(pool):
        given = (rng.choice(_SYLLABLES) + rng.choice(_SYLLABLES)).capitalize()
        sellers.append((brand, f"{rng.choice(_SURNAMES)} {given}", f"{brand} {kind}"))
    rng.shuffle(sellers)
    return sellers


def text_term(seed: int = SEED) -> str:
    """A selective free-text term: the brand of one seller family, as a buyer would type it."""
    return seller_pool(seed)[TEXT_TERM_SELLER][0].lower()


# What buyers type, by how much of the catalogue it finds (bench/search.py checks each against the data).
TEXT_KINDS = {
    "common": ("beijing", "a city with many sites", 100_000, None),
    "selective": (None, "one seller family's brand", 500, 5_000),  # text_term()
    "rare": (None, "the serial of one listing's code", 1, 9),  # rare_term(), read from the data
    "none": ("zzzq", "a word in no listing", 0, 0),
    "typo": ("guiyagn", "a city misspelt", 0, 9),
    "words": ("h100 guiyang", "a model and a city", None, None),
}


def rare_term(dsn: str) -> str:
    """The serial part of the code of the listing in the middle of the table: at most one per origin has it."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        code = conn.execute(
            "SELECT code FROM listing WHERE id = (SELECT (min(id) + max(id)) / 2 FROM listing)"
        ).fetchone()[0]
    return code.split("-")[1].lower()


def capacity_intervals(
    rng: random.Random, quantity: int, available_from: datetime, available_until: datetime, now: datetime
) -> list[dict] | None:
    """A listing's published `capacity` as its origin would compute it (trading/capacity.py's capacity_of).

    Contiguous pieces from the current hour (or the window's start) to the window's end, whole hours,
    free units below `quantity` in every other piece; None (every unit free throughout) for most listings.
    """
    counts, weights = zip(*_INTERVAL_COUNTS, strict=True)
    count = rng.choices(counts, weights)[0]
    start = max(available_from, now)
    hours = int((available_until - start).total_seconds() // 3600)
    if count == 0 or quantity == 0 or hours < count:
        return None
    cuts = sorted(rng.sample(range(1, hours), count - 1)) if count > 1 else []
    edges = [start + timedelta(hours=h) for h in (0, *cuts)] + [available_until]
    # Busy pieces alternate with wholly free ones (a lone piece is busy): orders come and go.
    return [
        {"from": left, "until": right, "free": quantity if (i % 2 == 0 and count > 1) else rng.randint(0, quantity - 1)}
        for i, (left, right) in enumerate(zip(edges, edges[1:], strict=False))
    ]


def stored_capacity(capacity: list[dict] | None) -> str | None:
    """`capacity` as its column stores it (models.types.CapacityIntervals): [[from, until, free]] in seconds."""
    if capacity is None:
        return None
    return json.dumps([[int(i["from"].timestamp()), int(i["until"].timestamp()), i["free"]] for i in capacity])


def generate_rows(count: int, seed: int = SEED) -> Iterator[tuple]:
    """`count` listing rows in COLUMNS order, created over the past year in id order, documents rendered."""
    rng = random.Random(seed)
    # Capacity draws from a generator of its own: every other column stays what it was before capacity existed.
    capacity_rng = random.Random(f"{seed}-capacity")
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    sellers = seller_pool(seed)
    serials = {origin: 0 for origin, _ in _ORIGINS}
    origins, origin_weights = zip(*_ORIGINS, strict=True)
    statuses, status_weights = zip(*_STATUSES, strict=True)
    year = timedelta(days=365)
    # The demo catalogue's generator gives each type its specs, prices, places and wording (national's
    # scope: sellers and sites across the country).
    scope = demo._scope("N0")
    for i, resource_type in enumerate(demo._type_plan(rng, count)):
        _seller, raw = demo._raw_listing(rng, resource_type, now, scope)
        origin = rng.choices(origins, origin_weights)[0]
        serials[origin] += 1
        _brand, seller_name, seller_org = rng.choice(sellers)
        created = now - year + year * i / max(count, 1)
        updated = min(now, created + timedelta(hours=rng.randint(0, 30 * 24)))
        available_from = datetime.fromisoformat(raw["available_from"])
        available_until = datetime.fromisoformat(raw["available_until"])
        capacity = capacity_intervals(capacity_rng, raw["quantity"], available_from, available_until, now)
        ppg = price_per_gpu_hour(
            unit_price=raw["unit_price"], price_unit=raw["price_unit"], gpu_count=raw.get("gpu_count")
        )
        row = (
            format_code(origin, encode_serial(serials[origin])), origin, rng.randint(1, 4),
            rng.choices(statuses, status_weights)[0], raw["title"], raw["description"], resource_type,
            raw.get("gpu_model"), raw.get("gpu_count"), raw.get("gpu_memory_gb"), raw.get("vcpus"),
            raw.get("memory_gb"), raw.get("storage_gb"), raw.get("bandwidth_gbps"), raw.get("model_name"),
            raw.get("tokens_per_second"), raw["region"], raw["city"], raw.get("city_code"), raw["datacenter"],
            raw["latency_ms"], raw["unit_price"], raw["currency"], raw["price_unit"], ppg, raw["quantity"],
            available_from, available_until, seller_name, seller_org, created, updated,
            now - timedelta(hours=2) if origin == STALE_ORIGIN else None,
        )  # fmt: skip
        # The node serves each listing's stored document (marketplace/listings/documents.py), rendered here by
        # the app's own renderer from the row's values, as a write through the services would.
        document = render_document(SimpleNamespace(**dict(zip(COLUMNS, row, strict=False)), capacity=capacity))
        yield (*row, stored_capacity(capacity), document)


def migrate(database_url: str) -> None:
    """Create the schema with the app's own migrations."""
    env = {**os.environ, "DATABASE_URL": database_url, "NODE_CODE": "R44", "SECRET_KEY": "bench"}
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT, env=env, check=True, timeout=300
    )


def _progress(done: int, total: int, started: float) -> None:
    print(f"  {done:>9,} / {total:,} rows  ({time.perf_counter() - started:.0f} s)", flush=True)


def load_postgresql(dsn: str, rows: int) -> None:
    """Recreate the schema, COPY `rows` listings in, build the search indexes, VACUUM ANALYZE."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    migrate(dsn)
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        # Building each index once after the load is several times faster than updating it per row;
        # the definitions are the migration's own, read back from the catalog.
        indexes = conn.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = 'listing' AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.indexname))::regclass)"
        ).fetchall()
        for name, _definition in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        with conn.cursor().copy(f"COPY listing ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for n, row in enumerate(generate_rows(rows), start=1):
                copy.write_row(row)
                if n % 200_000 == 0:
                    _progress(n, rows, started)
        conn.execute("SET maintenance_work_mem = '1GB'")
        for name, definition in indexes:
            t = time.perf_counter()
            conn.execute(definition)
            print(f"  index {name}: {time.perf_counter() - t:.1f} s", flush=True)
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE listing")
    print(f"  loaded {rows:,} rows in {time.perf_counter() - started:.0f} s", flush=True)


def load_sqlite(path: Path, rows: int) -> None:
    """Recreate the database file, insert `rows` listings in big transactions (triggers fill FTS), ANALYZE."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    migrate(f"sqlite:///{path}")
    started = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = OFF")  # a benchmark load: a crash just means --reload
        insert = f"INSERT INTO listing ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
        batch: list[tuple] = []
        done = 0
        for row in generate_rows(rows):
            # The app stores UTC datetimes naive on SQLite (marketplace.models.types.UTCDateTime).
            batch.append(tuple(v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row))
            if len(batch) == 50_000:
                done += _insert_batch(conn, insert, batch)
                _progress(done, rows, started)
        _insert_batch(conn, insert, batch)
        # Without statistics SQLite's planner may pick a worse index; a maintained node runs PRAGMA optimize.
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    print(f"  loaded {rows:,} rows in {time.perf_counter() - started:.0f} s", flush=True)


def _insert_batch(conn: sqlite3.Connection, insert: str, batch: list[tuple]) -> int:
    conn.execute("BEGIN")
    conn.executemany(insert, batch)
    conn.execute("COMMIT")
    n = len(batch)
    batch.clear()
    return n


def migrations_head() -> str:
    """The newest revision of the app's migrations."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return ScriptDirectory.from_config(config).get_current_head()


def analyze(database_url: str) -> None:
    """Refresh the planner's statistics (after a migration changed columns or indexes)."""
    if database_url.startswith("sqlite:///"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            conn.execute("ANALYZE")
        finally:
            conn.close()
        return
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ANALYZE listing")


def ensure_database(dsn: str) -> None:
    """Create the benchmark's PostgreSQL database if the server has none of that name (a fresh machine)."""
    import psycopg

    server, name = dsn.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


def state_postgresql(dsn: str) -> tuple[int | None, str | None]:
    """Listings loaded and the schema's migration revision (None, None when there is no schema yet)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('public.alembic_version')").fetchone()[0] is None:
            return None, None
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        rows = conn.execute("SELECT count(*) FROM listing").fetchone()[0]
        return rows, revision[0] if revision else None


def state_sqlite(path: Path) -> tuple[int | None, str | None]:
    """Listings in the SQLite file and its migration revision (None, None when there is no schema yet)."""
    if not path.exists():
        return None, None
    conn = sqlite3.connect(path)
    try:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'").fetchone():
            return None, None
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        rows = conn.execute("SELECT count(*) FROM listing").fetchone()[0]
        return rows, revision[0] if revision else None
    finally:
        conn.close()
