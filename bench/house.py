"""Two versions of the node, interleaved: search and sync push, CPU per request (or event) of each, round by round.

    .venv/bin/python bench/house.py --old /work/wt-old --new . [--rows 200000] [--events 20000] [--rounds 5]

Each version is served by gunicorn from its own directory (`--chdir` and PYTHONPATH), both on equal copies
of one PostgreSQL catalogue loaded once with bench/search_data.py (kept while the row count matches).
Every round measures, for each version in turn (the order flips each round):

- search: the filtered, sorted first page, a selective text search and a deep cursor page, under wrk;
  CPU milliseconds per request of the gunicorn master and workers, and of the PostgreSQL backends;
- sync: a regional node (SQLite) pushes N signed events (the same ones every round) to a national node
  on a fresh copy of the catalogue, with that version's own sync worker (bench/house_push.py); events
  applied per second, and CPU milliseconds per event of national's gunicorn, of its PostgreSQL backends
  and of the pushing process. A warm-up push of other events goes first, so no worker's first request
  (imports, caches) is counted.

Wall-clock rates move with whatever else runs on the machine; CPU per request hardly does, so the medians
of the CPU figures are the comparison. Prints each round and the medians, and replaces the
`<!-- house -->` section of bench/RESULTS.md unless --no-results.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack, nullcontext
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the preparation (loading, signing) uses this checkout's code

import benchkit  # noqa: E402
import psycopg  # noqa: E402
import search_data  # noqa: E402
import sync as sync_bench  # noqa: E402

WORK = ROOT / "bench" / "_work" / "house"
SERVER = "postgresql://postgres@127.0.0.1"
TEMPLATE = "bench_house_tpl"  # the loaded catalogue; every database below is a copy of it
PYTHON = Path(sys.executable)
benchkit.GUNICORN = PYTHON.parent / "gunicorn"  # the venv this script runs in serves both versions
SEARCH_ENV = {"NODE_CODE": "R44", "SECRET_KEY": "bench"}
WARMUP_EVENTS = 1500
sync_bench.WORK, sync_bench.DSN = WORK, f"{SERVER}/{TEMPLATE}"  # its node files and directory are ours


def git_head(directory: Path) -> str:
    """The commit checked out in `directory`, with `+changes` when its marketplace/ differs from it."""
    head = subprocess.run(["git", "-C", str(directory), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()  # fmt: skip
    dirty = subprocess.run(["git", "-C", str(directory), "status", "--porcelain", "marketplace", "app.py"],
                           capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    return head + (" +changes" if dirty else "")


def admin(sql: str) -> None:
    """Run one statement on the server's maintenance database."""
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def copy_database(name: str) -> str:
    """A fresh copy of the template database; its URL."""
    admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    return f"{SERVER}/{name}"


def backend_pids(database: str) -> list[int]:
    """PostgreSQL client backends connected to `database`."""
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'", (database,)
        )
        return [row[0] for row in rows]


def ensure_database_state(dsn: str) -> tuple[int, str | None]:
    """The template database made if missing; its listing count and migration revision."""
    search_data.ensure_database(dsn)
    return search_data.state_postgresql(dsn)


def ensure_catalogue(rows: int) -> None:
    """The template database holding `rows` listings at the newest migration (loaded only when it does not)."""
    dsn = f"{SERVER}/{TEMPLATE}"
    have, revision = ensure_database_state(dsn)
    if have == rows and revision != search_data.migrations_head():
        _upgrade(dsn, revision)
    elif have != rows:
        print(f"data: loading {rows:,} listings into {TEMPLATE}", flush=True)
        search_data.load_postgresql(dsn, rows)


def _upgrade(dsn: str, revision: str | None) -> None:
    # Newer migrations only add tables and columns (with defaults): upgrading in place gives the schema a
    # fresh load would, in seconds instead of minutes.
    print(f"data: migrating {TEMPLATE} from {revision} to {search_data.migrations_head()}", flush=True)
    subprocess.run(
        [str(PYTHON.parent / "flask"), "--app", "app", "db", "upgrade"], cwd=ROOT, check=True, timeout=600,
        env={**os.environ, "DATABASE_URL": dsn, "NODE_CODE": "R44", "SECRET_KEY": "bench"},
    )  # fmt: skip


def prepare(args: argparse.Namespace) -> None:
    """The catalogue (template database), national's keys, and the regional outboxes, all made once."""
    dsn = f"{SERVER}/{TEMPLATE}"
    have, revision = ensure_database_state(dsn)
    marker = WORK / "prepared.json"
    wanted = {"rows": args.rows, "events": args.events, "revision": search_data.migrations_head()}
    if have == args.rows and revision == wanted["revision"] and marker.exists():
        if json.loads(marker.read_text()) == wanted:
            print(f"data: {have:,} listings and {args.events:,} events already prepared", flush=True)
            return
    WORK.mkdir(parents=True, exist_ok=True)
    for stale in WORK.glob("*"):
        if stale.is_file():
            stale.unlink()
    if have == args.rows and revision != wanted["revision"]:
        _upgrade(dsn, revision)
    elif have != args.rows or revision != wanted["revision"]:
        print(f"data: loading {args.rows:,} listings into {TEMPLATE}", flush=True)
        search_data.load_postgresql(dsn, args.rows)
    national_env = sync_bench.node_env("N0", "national", "http://127.0.0.1:9", "http://127.0.0.1:9", dsn)
    benchkit.flask(national_env, "keys", "init", "--if-missing")
    from marketplace.federation.keys import public_jwks

    for code, count in (("R47", WARMUP_EVENTS), ("R46", args.events)):
        started = time.perf_counter()
        app = sync_bench.in_process_node(code, "regional", "http://127.0.0.1:9")
        with app.app_context():
            sync_bench.register(code, "regional", "N0", "http://127.0.0.1:9", public_jwks())
        sync_bench.fill_outbox(app, code, count)
        app.extensions["db"].engine.dispose()
        shutil.move(WORK / f"{code}.sqlite3", WORK / f"{code}.outbox.sqlite3")
        print(f"data: {count:,} signed events in {code}'s outbox ({time.perf_counter() - started:.0f} s)", flush=True)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    marker.write_text(json.dumps(wanted))


def server(name: str, code_dir: Path, env: dict, port: int | None = None) -> benchkit.Server:
    """gunicorn serving `code_dir`'s app (its own directory first on the path) on `port`, healthy."""
    original = benchkit.free_port
    if port is not None:
        benchkit.free_port = lambda: port
    try:
        s = benchkit.Server(name, "app:app", {**env, "PYTHONPATH": str(code_dir)}, WORK, chdir=code_dir)
    finally:
        benchkit.free_port = original
    try:
        s.wait_healthy()
    except Exception:
        s.stop()
        raise
    return s


# --- search ---------------------------------------------------------------------------------------------

SCENARIOS = {
    "filter_sort": {"resource_type": "gpu", "gpu_model": "H100", "sort": "price"},
    "text": {"q": search_data.text_term()},
    "deep_cursor": {"resource_type": "gpu", "sort": "price"},
}


def search_urls(api: benchkit.Server, deep_pages: int) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Each scenario's URL at this server (its own cursor for the deep page) and the codes it answers."""
    from urllib.parse import urlencode

    urls, answers = {}, {}
    for name, params in SCENARIOS.items():
        url = f"{api.url}/api/v1/listings?{urlencode(params)}"
        if name == "deep_cursor":
            for _ in range(deep_pages):
                cursor = benchkit.get_json(url)["next_cursor"]
                url = f"{api.url}/api/v1/listings?{urlencode({**params, 'cursor': cursor})}"
        body = benchkit.get_json(url)
        urls[name], answers[name] = url, [item["code"] for item in body["items"]] + [str(body["total"])]
    return urls, answers


def search_round(sides: dict, order: list[str], args: argparse.Namespace) -> dict:
    """wrk each scenario against each version in `order`; CPU ms per request and req/s."""
    out: dict[str, dict] = {}
    for name in SCENARIOS:
        for side in order:
            s = sides[side]
            benchkit.run_wrk(s["urls"][name], seconds=args.warmup, threads=2, connections=args.connections)
            r = benchkit.run_wrk(
                s["urls"][name], seconds=args.seconds, threads=2, connections=args.connections,
                server=s["api"].process.pid, database=lambda db=s["db"]: backend_pids(db),
            )  # fmt: skip
            if r.errors:
                raise RuntimeError(f"search {name} at {side}: {r.errors} failed requests")
            figures = {"server_ms": r.server_cpu_ms, "db_ms": r.db_cpu_ms, "rps": r.rps, "p50_ms": r.p50_ms,
                       "requests": r.requests, "others": r.other_cores}  # fmt: skip
            out.setdefault(name, {})[side] = figures
            print(f"  search {name:<12} {side}: {r.server_cpu_ms:6.3f} ms server CPU, {r.db_cpu_ms:6.3f} ms database "
                  f"CPU per request; {r.rps:7.1f} req/s ({r.requests:,} requests; others used "
                  f"{r.other_cores:.2f} cores)", flush=True)  # fmt: skip
    return out


# --- sync -----------------------------------------------------------------------------------------------


def push(code_dir: Path, code: str, national_url: str) -> dict:
    """`code`'s own sync worker (of `code_dir`) pushes a fresh copy of its outbox to national."""
    db = WORK / f"{code}.sqlite3"
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(WORK / f"{code}.outbox.sqlite3", db)
    env = sync_bench.node_env(code, "regional", "http://127.0.0.1:9", national_url, f"sqlite:///{db}")
    done = subprocess.run(
        [str(PYTHON), str(ROOT / "bench" / "house_push.py")], cwd=code_dir, capture_output=True, text=True,
        env={**os.environ, **env, "PYTHONPATH": str(code_dir)}, timeout=1800,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"push of {code} from {code_dir} failed:\n{done.stdout}{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if Path(result["code"]).resolve() != code_dir.resolve() / "marketplace":
        raise RuntimeError(f"the pusher ran the code in {result['code']}, not {code_dir}")
    return result


def sync_round(side: str, code_dir: Path, events: int, around=lambda _national: nullcontext()) -> dict:
    """National (of `code_dir`) on a fresh copy of the catalogue receives `events` pushed events.

    `around(national)` gives a context manager held over the measured push (bench/house_profile.py's profiler).
    """
    name = "bench_house_sync"
    dsn = copy_database(name)
    port = benchkit.free_port()
    url = f"http://127.0.0.1:{port}"
    national = server(f"N0-{side}", code_dir, sync_bench.node_env("N0", "national", url, url, dsn), port)
    try:
        push(code_dir, "R47", national.url)  # warm-up: every worker has served pushes before the timing
        db_before = benchkit.cpu_seconds(backend_pids(name))
        national_before, busy_before = benchkit.tree_cpu_seconds(national.process.pid), benchkit.busy_cpu_seconds()
        wall = time.perf_counter()
        with around(national):
            result = push(code_dir, "R46", national.url)
        wall = time.perf_counter() - wall
        national_used = benchkit.tree_cpu_seconds(national.process.pid) - national_before
        db_used = benchkit.cpu_used(db_before, benchkit.cpu_seconds(backend_pids(name)))
        busy = benchkit.busy_cpu_seconds() - busy_before
        with psycopg.connect(dsn) as conn:
            applied = conn.execute("SELECT count(*) FROM listing WHERE origin = 'R46'").fetchone()[0]
    finally:
        national.stop()
    if result["sent"] != events or applied != events:
        raise RuntimeError(f"sync at {side}: sent {result['sent']}, applied {applied} of {events}")
    # The pusher's start-up (imports) is its own but not part of result["cpu_seconds"]: a slight overestimate.
    others = max(0.0, busy - national_used - db_used - result["cpu_seconds"]) / wall
    out = {"events_per_s": events / result["seconds"], "national_ms": national_used * 1000 / events,
           "db_ms": db_used * 1000 / events, "pusher_ms": result["cpu_seconds"] * 1000 / events,
           "others": others}  # fmt: skip
    print(f"  sync {side}: {out['events_per_s']:7.0f} events/s; CPU per event: national {out['national_ms']:.3f} ms, "
          f"database {out['db_ms']:.3f} ms, pusher {out['pusher_ms']:.3f} ms (others used {others:.2f} cores)",
          flush=True)  # fmt: skip
    return out


# --- report ---------------------------------------------------------------------------------------------

FIGURES = {  # (phase, scenario, figure) -> label
    ("search", "filter_sort", "server_ms"): "search, filter + sort first page: server CPU ms/request",
    ("search", "filter_sort", "db_ms"): "search, filter + sort first page: database CPU ms/request",
    ("search", "text", "server_ms"): "search, text: server CPU ms/request",
    ("search", "text", "db_ms"): "search, text: database CPU ms/request",
    ("search", "deep_cursor", "server_ms"): "search, cursor page: server CPU ms/request",
    ("search", "deep_cursor", "db_ms"): "search, cursor page: database CPU ms/request",
    ("sync", None, "national_ms"): "sync push: national CPU ms/event",
    ("sync", None, "db_ms"): "sync push: database CPU ms/event",
    ("sync", None, "pusher_ms"): "sync push: regional pusher CPU ms/event",
    ("sync", None, "events_per_s"): "sync push: events/s (wall clock, noisy)",
}


def series(rounds: list[dict], phase: str, scenario: str | None, figure: str, side: str) -> list[float]:
    """One figure of one version, round by round."""
    out = []
    for r in rounds:
        if phase in r:
            data = r[phase][side] if scenario is None else r[phase][scenario][side]
            out.append(data[figure])
    return out


def table(rounds: list[dict]) -> str:
    """Markdown: per-round figures and medians, old vs new."""
    lines = [
        "| figure | OLD per round | NEW per round | OLD median | NEW median | NEW/OLD |",
        "|---|---|---|---:|---:|---:|",
    ]
    for (phase, scenario, figure), label in FIGURES.items():
        old, new = (series(rounds, phase, scenario, figure, side) for side in ("old", "new"))
        if not old:
            continue
        fmt = "{:,.0f}" if figure == "events_per_s" else "{:.3f}"
        mo, mn = statistics.median(old), statistics.median(new)
        lines.append(f"| {label} | {' '.join(fmt.format(v) for v in old)} | {' '.join(fmt.format(v) for v in new)} "
                     f"| {fmt.format(mo)} | {fmt.format(mn)} | {mn / mo:.1%} |")  # fmt: skip
    return "\n".join(lines)


def write_results(args: argparse.Namespace, commits: dict, rounds: list[dict], started: datetime) -> None:
    """Replace the `<!-- house -->` section of bench/RESULTS.md (notes written by hand stay outside it)."""
    import re

    command = " ".join(["python bench/house.py", *args.argv])
    search_line = "" if args.only == "sync" else (
        f"- search: `wrk -t2 -c{args.connections} -d{args.seconds}s` after {args.warmup} s of warm-up, per scenario "
        "and version\n"
    )  # fmt: skip
    section = f"""<!-- house -->
### Figures of the last run

- command: `{command}`
- started {started:%Y-%m-%d %H:%M} UTC, {len(rounds)} rounds; machine: nproc {os.cpu_count()}, shared with other work
- OLD: `{args.old}` at {commits["old"]}; NEW: `{args.new}` at {commits["new"]}
- data: {args.rows:,} listings (bench/search_data.py), one copy per version for search and a fresh copy per
  version and round for sync; {args.events:,} pushed events per round (after {WARMUP_EVENTS:,} warm-up events)
{search_line}
{table(rounds)}
<!-- /house -->"""
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text()
    pattern = re.compile(r"<!-- house -->.*?<!-- /house -->", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section, text)
    else:
        text = text.rstrip("\n") + "\n\n## House refactor: old vs new, interleaved\n\n" + section + "\n"
    path.write_text(text)
    print("wrote bench/RESULTS.md")


def main(argv: list[str] | None = None) -> int:
    """Run the interleaved rounds; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", type=Path, required=True, help="checkout of the old code")
    parser.add_argument("--new", type=Path, default=ROOT, help="checkout of the new code (default: this one)")
    parser.add_argument("--rows", type=int, default=200_000, help="listings in the catalogue")
    parser.add_argument("--events", type=int, default=20_000, help="events pushed per round and version")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=("search", "sync"), help="one phase only")
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration per scenario and version")
    parser.add_argument("--warmup", type=int, default=2, help="wrk warm-up before each measurement")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--deep-pages", type=int, default=200, help="pages followed before the cursor page")
    parser.add_argument("--no-results", action="store_true", help="do not write bench/RESULTS.md")
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else argv
    args.old, args.new = args.old.resolve(), args.new.resolve()
    dirs = {"old": args.old, "new": args.new}
    commits = {side: git_head(d) for side, d in dirs.items()}
    print(f"OLD {args.old} at {commits['old']}\nNEW {args.new} at {commits['new']}", flush=True)
    started = datetime.now(UTC)
    prepare(args)
    rounds: list[dict] = []
    with ExitStack() as stack:
        sides: dict[str, dict] = {}
        if args.only != "sync":
            for side, code_dir in dirs.items():
                db = f"bench_house_search_{side}"
                dsn = copy_database(db)
                api = server(f"api-{side}", code_dir, {**SEARCH_ENV, "DATABASE_URL": dsn})
                stack.callback(api.stop)
                urls, answers = search_urls(api, args.deep_pages)
                sides[side] = {"api": api, "db": db, "urls": urls, "answers": answers}
            if sides["old"]["answers"] != sides["new"]["answers"]:
                raise RuntimeError(
                    f"the versions answer differently: {sides['old']['answers']} {sides['new']['answers']}"
                )
            print("search: both versions answer every scenario with the same listings and totals", flush=True)
        for n in range(1, args.rounds + 1):
            order = ["old", "new"] if n % 2 else ["new", "old"]
            print(f"round {n} ({' then '.join(order)})", flush=True)
            result: dict = {}
            if args.only != "sync":
                result["search"] = search_round(sides, order, args)
            if args.only != "search":
                result["sync"] = {side: sync_round(side, dirs[side], args.events) for side in order}
            rounds.append(result)
            (WORK / "rounds.json").write_text(json.dumps({"commits": commits, "rounds": rounds}, indent=1))
    print("\n" + table(rounds))
    if not args.no_results:
        write_results(args, commits, rounds, started)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; servers stopped", file=sys.stderr)
        sys.exit(130)
