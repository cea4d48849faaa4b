"""Search benchmark: the API's typical searches under wrk, next to a bare baseline running the same SQL.

    .venv/bin/python bench/search.py --backend postgresql --rows 1000000
    .venv/bin/python bench/search.py --backend sqlite --rows 100000

Loads N realistic listings with their published capacity (kept between runs while
the count matches; --reload forces a fresh load), serves the node with gunicorn on
127.0.0.1, and measures (a) a filtered, sorted first page, (b) text searches of every
kind (a common term, a selective one, a rare one, a word in no listing, a typo, a
model and a city), (c) a page reached by following next_cursor deep into the
results, (d) the window filter (start/end/units) alone and with filters, (e) near_city
with max_latency_ms, and (f) include_stale=true, each at full load (-c16) and again at
-c2 for latency. bench/baseline_app.py
serves the very statements the node's search view sends (captured from the app) with
no framework layers, under the same gunicorn settings. Prints the figures and the
query plans, and replaces this backend's section of bench/RESULTS.md. A statement whose
plan reads more than ROWS_BOUND rows of listing or BUFFERS_BOUND buffers fails the
plan check, whatever its nodes are called.
"""

import argparse
import json
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import tempfile
import urllib.parse
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the app's package lives at the repo root

import benchkit  # noqa: E402
import search_data  # noqa: E402
import search_report  # noqa: E402

PG_URL = "postgresql://postgres@127.0.0.1/bench"
# What one search statement may read at most (EXPLAIN (ANALYZE, BUFFERS)): rows of listing from its heap or
# indexes, and buffers. The rare-term walk this replaced read 899,682 rows and 230,160 buffers.
ROWS_BOUND = 25_000
BUFFERS_BOUND = 10_000
SQLITE_PATH = Path(tempfile.gettempdir()) / "marketplace-bench" / "search.sqlite3"
NODE_ENV = {"NODE_CODE": "R44", "SECRET_KEY": "bench"}


@dataclass
class Scenario:
    """One benchmarked search: its query parameters and, once measured, its figures."""

    name: str
    label: str
    params: dict[str, str]
    matches: str = ""
    statements: list[dict] = field(default_factory=list)
    api: benchkit.WrkResult | None = None
    baseline: benchkit.WrkResult | None = None
    # The same at --light-connections: the latency a buyer sees when requests do not queue for the cores.
    api_light: benchkit.WrkResult | None = None
    baseline_light: benchkit.WrkResult | None = None
    replaced: int = 0  # gunicorn workers replaced during this scenario's measured runs, either side

    @property
    def query_string(self) -> str:
        """The parameters as a URL query string."""
        return urllib.parse.urlencode(self.params)


def make_scenarios(deep_pages: int, rare: str) -> list[Scenario]:
    """The typical searches; the deep one's cursor is filled in by follow_cursor."""
    h100 = {"resource_type": "gpu", "gpu_model": "H100", "sort": "price"}
    texts = [
        Scenario(f"text_{kind}", f"text, {label}", {"q": term or (search_data.text_term() if kind == "selective"
                                                                 else rare)})
        for kind, (term, label, _low, _high) in search_data.TEXT_KINDS.items()
    ]  # fmt: skip
    # A week from a week ahead, two units: what a buyer planning a training run asks.
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=7)
    window = {"start": start.isoformat(), "end": (start + timedelta(days=7)).isoformat(), "units": "2"}
    return [
        Scenario("filter_sort", "filter + sort, first page", h100),
        *texts,
        Scenario("deep_cursor", f"cursor page {deep_pages + 1}", {"resource_type": "gpu", "sort": "price"}),
        Scenario("window", "window, first page", window),
        Scenario("window_filter", "window + filter + sort", h100 | window),
        # A buyer in Beijing who wants a datacenter within 5 ms (§10's estimate).
        Scenario(
            "near_city", "near_city ≤ 5 ms + filter + sort", h100 | {"near_city": "110100", "max_latency_ms": "5"}
        ),
        Scenario("stale", "include_stale, filter + sort", h100 | {"include_stale": "true"}),
    ]


def check_text_matches(database_url: str, scenarios: list[Scenario]) -> None:
    """Each text scenario must find as many listings as its kind says (counted exactly, on PostgreSQL)."""
    import psycopg

    from marketplace.listings.search import _text_query, search_terms

    with psycopg.connect(database_url) as conn:
        for s in scenarios:
            _term, _label, low, high = search_data.TEXT_KINDS[s.name.removeprefix("text_")]
            query = _text_query("postgresql", search_terms(s.params["q"]))
            found = conn.execute(
                "SELECT count(*) FROM listing WHERE status = 'published' AND stale_since IS NULL "
                "AND search_vector @@ to_tsquery('simple', %s)", (query,)
            ).fetchone()[0]  # fmt: skip
            s.label += f" `{s.params['q']}`"
            print(f"  {s.name}: q={s.params['q']!r} finds {found:,} listings")
            if (low is not None and found < low) or (high is not None and found > high):
                raise RuntimeError(f"{s.name}: {found:,} matches, not within {low}..{high}: load other data")


def prepare_data(backend: str, rows: int, reload: bool, sqlite_path: Path, pg_url: str = PG_URL) -> str:
    """Load the listings unless the database already holds `rows` of them; return the DATABASE_URL.

    Loaded data whose schema is behind the app's migrations is upgraded in place, as a node's would be.
    """
    if backend == "postgresql":
        search_data.ensure_database(pg_url)
        url, (have, revision) = pg_url, search_data.state_postgresql(pg_url)
    else:
        url, (have, revision) = f"sqlite:///{sqlite_path}", search_data.state_sqlite(sqlite_path)
    if have == rows and not reload:
        print(f"data: {have:,} listings already loaded ({url})")
        if revision != search_data.migrations_head():
            print(f"data: upgrading the schema from revision {revision} with the app's migrations")
            search_data.migrate(url)
            search_data.analyze(url)
        return url
    print(f"data: loading {rows:,} listings into {url} (had {have if have is not None else 'none'})")
    if backend == "postgresql":
        search_data.load_postgresql(pg_url, rows)
    else:
        search_data.load_sqlite(sqlite_path, rows)
    return url


def follow_cursor(api_url: str, scenario: Scenario, pages: int) -> None:
    """Walk `pages` pages of the scenario through the API and keep the cursor of the next one."""
    url = f"{api_url}/api/v1/listings?{scenario.query_string}"
    cursor = None
    for page in range(pages):
        body = benchkit.get_json(url + (f"&cursor={cursor}" if cursor else ""))
        cursor = body["next_cursor"]
        if cursor is None:
            raise RuntimeError(f"{scenario.name}: the results end after {page + 1} pages; load more rows")
    scenario.params["cursor"] = cursor


def capture_statements(database_url: str, scenarios: list[Scenario]) -> None:
    """Record the exact SQL and parameters the node's search API sends for each scenario.

    The requests go through the app's own view (Flask's test client), so whatever the view asks of
    marketplace.listings.search is what the baseline replays.
    """
    from sqlalchemy import event

    from marketplace import create_app
    from marketplace.config import normalize_database_url

    app = create_app({"DATABASE_URL": normalize_database_url(database_url)})
    captured: list[tuple[str, object]] = []

    def on_execute(_conn, _cursor, statement, parameters, _context, _executemany):
        """Keep each statement as the DB-API driver receives it."""
        captured.append((statement, parameters))

    engine = get_db_engine(app)
    event.listen(engine, "before_cursor_execute", on_execute)
    client = app.test_client()
    client.get("/healthz")  # the dialect's first-connect queries are not part of a search
    for scenario in scenarios:
        captured.clear()
        response = client.get(f"/api/v1/listings?{scenario.query_string}")
        if response.status_code != 200:
            raise RuntimeError(f"{scenario.name}: the app answered {response.status_code}: {response.data[:500]!r}")
        statements = [(sql, params) for sql, params in captured if "FROM listing" in sql]
        if not statements:
            raise RuntimeError(f"{scenario.name}: the search sent no query on listing: {captured}")
        scenario.statements = [{"sql": sql, "params": _plain(params)} for sql, params in statements]
    engine.dispose()


def get_db_engine(app):
    """The app's SQLAlchemy engine."""
    return app.extensions["db"].engine


def _plain(params):
    """DB-API parameters as JSON can carry them (a dict for psycopg, a list for sqlite3)."""
    return dict(params) if isinstance(params, dict) else list(params)


def write_queries(path: Path, scenarios: list[Scenario], per_page: int, count_cap: int) -> None:
    """The statements of every scenario, for bench/baseline_app.py."""
    data = {s.name: {"statements": s.statements, "per_page": per_page, "count_cap": count_cap} for s in scenarios}
    # Datetimes (the window filter) as ISO text: PostgreSQL reads them as the timestamptz they are compared with.
    path.write_text(json.dumps(data, indent=1, default=lambda value: value.isoformat()))


def check_answers(api_url: str, base_url: str, scenarios: list[Scenario]) -> None:
    """Both servers must answer every scenario with the same listings before anything is timed."""
    for s in scenarios:
        api = benchkit.get_json(f"{api_url}/api/v1/listings?{s.query_string}")
        base = benchkit.get_json(f"{base_url}/q/{s.name}")
        api_codes, base_codes = [_code(i) for i in api["items"]], [_code(i) for i in base["items"]]
        # The baseline can tell the total only when the count is a statement of its own.
        totals_differ = base.get("total") is not None and api["total"] != base["total"]
        may_be_empty = search_data.TEXT_KINDS.get(s.name.removeprefix("text_"), (None, None, 1))[2] == 0
        if (not api_codes and not may_be_empty) or api_codes != base_codes or totals_differ:
            raise RuntimeError(f"{s.name}: API and baseline disagree:\n{api_codes} {api['total']}\n"
                               f"{base_codes} {base['total']}")  # fmt: skip
        s.matches = f"{api['total']:,}{'' if api['total_exact'] else '+'}"
        print(f"  {s.name}: {len(api_codes)} items, {s.matches} matches, first {api_codes[:1]} — same in both")


def _code(item: dict) -> str:
    """The identification code of an answered item: a listing document, or a row holding one."""
    return item["code"] if "code" in item else item["document"]["code"]


def explain(backend: str, database_url: str, scenarios: list[Scenario]) -> tuple[list[tuple[str, str, str]], bool]:
    """The plan of every benchmarked statement; True when each reads a bounded part of the listing table."""
    plans, ok = [], True
    for s in scenarios:
        kinds = ["page", "count"][: len(s.statements)] + [f"statement {n}" for n in range(3, len(s.statements) + 1)]
        if len(s.statements) == 2 and "count(" in s.statements[0]["sql"] and "document" not in s.statements[0]["sql"]:
            kinds = ["count, first", "page"]  # a text search counts first, to pick its page's plan
        for kind, statement in zip(kinds, s.statements, strict=True):
            if backend == "postgresql":
                plan, rows, buffers = _explain_postgresql(database_url, statement)
                bounded = rows <= ROWS_BOUND and buffers <= BUFFERS_BOUND
                verdict = f"reads {rows:,} rows, {buffers:,} buffers" + ("" if bounded else " — UNBOUNDED!")
                capped = "count" not in kind or "Limit" in plan
            else:
                plan = _explain_sqlite(database_url, statement)
                # "SCAN listing" alone reads every row; "SCAN listing USING ... INDEX" walks an index in order.
                bounded = not any(line.strip().endswith("SCAN listing") for line in plan.splitlines())
                verdict = "no full scan" if bounded else "full table scan!"
                capped = True  # the statement itself says LIMIT; SQLite's plan does not show it
            verdict += "" if capped else ", count NOT capped!"
            ok = ok and bounded and capped
            plans.append((f"{s.name} ({kind}): {verdict}", statement["sql"], plan))
    return plans, ok


def _explain_postgresql(url: str, statement: dict) -> tuple[str, int, int]:
    """The statement's plan as text, the rows it read from listing's heap, and the buffers it touched."""
    import psycopg

    with psycopg.connect(url, options="-c plan_cache_mode=force_custom_plan") as conn:
        # Once before: a fresh connection's first plan also fills its catalog caches, which no request pays.
        conn.execute(statement["sql"], statement["params"]).fetchall()
        explain = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF{}) " + statement["sql"]
        measured = conn.execute(explain.format(", FORMAT JSON"), statement["params"]).fetchone()[0][0]["Plan"]
        rows = conn.execute(explain.format(""), statement["params"])
        return "\n".join(row[0] for row in rows), _rows_read(measured), _buffers(measured)


def _rows_read(node: dict) -> int:
    """Rows a plan took from listing's heap (or an index-only scan's), kept or filtered out, over all loops."""
    own = 0
    if node.get("Relation Name") == "listing" and node["Node Type"] != "Bitmap Index Scan":
        removed = node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Index Recheck", 0)
        own = (node["Actual Rows"] + removed) * node.get("Actual Loops", 1)
    return own + sum(_rows_read(child) for child in node.get("Plans", []))


def _buffers(node: dict) -> int:
    """Buffers the whole statement touched (the top node's counts include its children's and subplans')."""
    return node.get("Shared Hit Blocks", 0) + node.get("Shared Read Blocks", 0)


def _explain_sqlite(url: str, statement: dict) -> str:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        rows = conn.execute("EXPLAIN QUERY PLAN " + statement["sql"], statement["params"]).fetchall()
        return "\n".join(f"{'  ' * (parent > 0)}{detail}" for _id, parent, _unused, detail in rows)
    finally:
        conn.close()


def database_pids(backend: str, database_url: str) -> list[int]:
    """The PostgreSQL backends serving the bench database (on SQLite the database works inside the workers)."""
    if backend != "postgresql":
        return []
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            # Client connections only: an autovacuum worker's CPU is not the cost of a request.
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
        )
        return [row[0] for row in rows]


def measure(servers: dict[str, benchkit.Server], scenarios: list[Scenario], args: argparse.Namespace) -> None:
    """wrk every scenario against the API and the baseline, in alternating rounds; keep each side's best round.

    Other work on the machine (a test suite, say) takes CPU at random moments: each run waits for a quiet
    moment first, alternating exposes both sides to the same conditions, and the best of a few rounds is
    the least disturbed. CPU per request is measured besides: it moves much less with such disturbance.
    """
    load = {"threads": args.threads, "connections": args.connections}
    for s in scenarios:
        urls = {"api": f"{servers['api'].url}/api/v1/listings?{s.query_string}",
                "baseline": f"{servers['baseline'].url}/q/{s.name}"}  # fmt: skip
        for round_ in range(1, args.rounds + 1):
            for side, url in urls.items():
                benchkit.wait_quiet(args.quiet_cores, timeout=args.quiet_wait)
                benchkit.run_wrk(url, seconds=args.warmup, **load)
                result = benchkit.run_wrk(
                    url,
                    seconds=args.seconds,
                    **load,
                    server=servers[side].process.pid,
                    database=lambda: database_pids(args.backend, args.database_url),
                )
                s.replaced += result.workers_replaced
                best = getattr(s, side)
                if best is None or result.rps > best.rps:
                    setattr(s, side, result)
                replaced = f", {result.workers_replaced} WORKERS REPLACED" if result.workers_replaced else ""
                _print_run(s.name, f"{side:<8} round {round_}", result, replaced)
        if not args.light_connections:
            continue
        for side, url in urls.items():
            benchkit.wait_quiet(args.quiet_cores, timeout=args.quiet_wait)
            result = benchkit.run_wrk(url, seconds=args.seconds, threads=1, connections=args.light_connections,
                                      server=servers[side].process.pid,
                                      database=lambda: database_pids(args.backend, args.database_url))  # fmt: skip
            s.replaced += result.workers_replaced
            setattr(s, f"{side}_light", result)
            _print_run(s.name, f"{side:<8} -c{args.light_connections}  ", result, "")


def _print_run(name: str, what: str, result: benchkit.WrkResult, replaced: str) -> None:
    print(
        f"  {name:<14} {what}: p50 {result.p50_ms:7.2f} ms  "
        f"p99 {result.p99_ms:7.2f} ms  {result.rps:8.1f} req/s  CPU/request: server "
        f"{result.server_cpu_ms:.2f} ms, database {result.db_cpu_ms:.2f} ms; "
        f"others used {result.other_cores:.2f} cores  ({result.requests:,} requests, "
        f"{result.errors} errors{replaced})",
        flush=True,
    )


def machine(backend: str, database_url: str, api: benchkit.Server) -> dict[str, str]:
    """What the figures were measured on."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    settings = " ".join(benchkit.gunicorn_settings()).replace(str(ROOT) + "/", "")
    info = {"cpus": f"{search_report.nproc()} × {cpu}", "python": platform.python_version(),
            "schema": search_data.migrations_head(),
            "gunicorn": f"{version('gunicorn')} `{settings}` ({len(api.pids()) - 1} sync workers)"}  # fmt: skip
    if backend == "postgresql":
        import psycopg

        with psycopg.connect(database_url) as conn:
            info["database"] = "PostgreSQL " + conn.execute("SHOW server_version").fetchone()[0]
    else:
        info["database"] = f"SQLite {sqlite3.sqlite_version}"
    return info


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), required=True)
    parser.add_argument(
        "--rows", type=int, help="listings to load (default 1,000,000 on PostgreSQL, 100,000 on SQLite)"
    )
    parser.add_argument("--reload", action="store_true", help="load fresh data even when the row count matches")
    parser.add_argument("--seconds", type=int, default=12, help="wrk duration per scenario and server")
    parser.add_argument("--warmup", type=int, default=2, help="wrk warm-up before each measurement")
    parser.add_argument("--rounds", type=int, default=2, help="alternating API/baseline rounds; the best counts")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--light-connections",
        type=int,
        default=2,
        help="a second run per scenario and side at this many connections, for latency (0: none)",
    )
    parser.add_argument("--deep-pages", type=int, default=500, help="pages to follow before the deep cursor page")
    parser.add_argument("--sqlite-path", type=Path, default=SQLITE_PATH)
    parser.add_argument("--quiet-cores", type=float, default=0.3, help="wait until others use fewer cores than this")
    parser.add_argument("--quiet-wait", type=float, default=60, help="longest wait for a quiet moment, seconds")
    parser.add_argument("--no-results", action="store_true", help="do not write bench/RESULTS.md")
    parser.add_argument("--pg-url", default=PG_URL, help="the PostgreSQL database to load and search")
    parser.add_argument("--only", help="comma-separated scenario names to measure (default: all)")
    args = parser.parse_args(argv)
    args.rows = args.rows or (1_000_000 if args.backend == "postgresql" else 100_000)

    from marketplace.listings.search import COUNT_CAP

    database_url = args.database_url = prepare_data(args.backend, args.rows, args.reload, args.sqlite_path, args.pg_url)
    rare = search_data.rare_term(database_url) if args.backend == "postgresql" else "00000001"
    scenarios = make_scenarios(args.deep_pages, rare)
    if args.only:
        scenarios = [s for s in scenarios if s.name in args.only.split(",")]
    if args.backend == "postgresql":
        check_text_matches(database_url, [s for s in scenarios if s.name.startswith("text_")])
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-search-")))
        # Signing keys of its own: /healthz answers 503 without them, whatever the checkout's instance/ holds.
        node_env = {**NODE_ENV, "DATABASE_URL": database_url, "SIGNING_KEYS_FILE": str(work / "keys.json")}
        subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "app", "keys", "init"], cwd=ROOT, check=True,
                       env={**os.environ, **node_env}, capture_output=True, timeout=120)  # fmt: skip
        api = benchkit.Server("api", "app:app", node_env, work)
        stack.callback(api.stop)
        api.wait_healthy()
        print(f"api: {api.url} (gunicorn {' '.join(benchkit.gunicorn_settings())}, {len(api.pids()) - 1} workers)")
        for s in scenarios:
            if s.name == "deep_cursor":
                follow_cursor(api.url, s, args.deep_pages)
        capture_statements(database_url, scenarios)
        queries = work / "queries.json"
        write_queries(queries, scenarios, per_page=20, count_cap=COUNT_CAP)
        dsn = database_url if args.backend == "postgresql" else str(args.sqlite_path)
        base_env = {"BENCH_QUERIES": str(queries), "BENCH_BACKEND": args.backend, "BENCH_DSN": dsn}
        base = benchkit.Server("baseline", "baseline_app:app", base_env, work, chdir=ROOT / "bench")
        stack.callback(base.stop)
        base.wait_healthy()
        print(f"baseline: {base.url}\nchecking answers:")
        check_answers(api.url, base.url, scenarios)
        plans, plans_ok = explain(args.backend, database_url, scenarios)
        print(search_report.plans_text(plans))
        print(f"measuring: wrk -t{args.threads} -c{args.connections} -d{args.seconds}s --latency, {args.rounds} rounds")
        measure({"api": api, "baseline": base}, scenarios, args)
        info = machine(args.backend, database_url, api)
    report = search_report.Report(args, info, scenarios, plans, plans_ok)
    print("\n" + report.table())
    print(report.verdicts())
    if not args.no_results:
        search_report.write_results(ROOT / "bench" / "RESULTS.md", report)
        print("wrote bench/RESULTS.md")
    return 0


if __name__ == "__main__":
    # `kill` ends the run the way Ctrl-C does: through the ExitStack that stops the servers. SIGINT too, even
    # when a shell started the benchmark in the background with SIGINT ignored.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; servers stopped", file=sys.stderr)
        sys.exit(130)
