"""What per-request metrics and JSON request logs cost on search: one checkout served twice, on and off, interleaved.

    .venv/bin/python bench/metrics_cost.py [--rounds 4] [--seconds 6] [--together] [--variants]

Serves this checkout under gunicorn twice, on two copies of bench/house.py's catalogue (the template database
`bench_house_tpl`, loaded by house.py): "on" with the default settings, "off" with `LOG_REQUESTS=0
REQUEST_METRICS=0`. Every round runs house.py's search scenarios (filtered, sorted first page, text search,
deep cursor page) under wrk against each side and reports server CPU milliseconds per request (gunicorn
master and workers, from /proc), database CPU per request and req/s.

By default the sides are loaded one after the other, the order flipping each round. With `--together` they
are loaded at the same time (a round's ratio then cancels the moments when the shared machine runs slow,
which move CPU per request by ±15 % from one measurement to the next), and each round restarts every
setting on another side's database and port, the first one started and loaded taking turns (their own
differences, up to ±5 % of database CPU, and the first one's +2 % cancel over the rounds). `--variants`
adds metrics alone and the log alone, to see what each half costs.

gunicorn's output, where the JSON lines go, is written to bench/_work/metrics/api-<side>.log; the script
counts the lines there to show that "on" logged every request and "off" none.
Prints each round, the medians and the off/on ratios, and replaces the `<!-- metrics-cost -->` section of
bench/RESULTS.md unless --no-results.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchkit  # noqa: E402
import house  # noqa: E402  (also puts the checkout and bench/ on the path, and picks the venv's gunicorn)

ROOT = house.ROOT
WORK = ROOT / "bench" / "_work" / "metrics"
house.WORK = WORK  # the servers' logs go here, apart from house.py's own runs
SIDES = {"on": {}, "off": {"LOG_REQUESTS": "0", "REQUEST_METRICS": "0"}}
# --variants: each half alone, to see which of the two costs what.
VARIANTS = {"metrics": {"LOG_REQUESTS": "0"}, "log": {"REQUEST_METRICS": "0"}}
FIGURES = {"server_ms": "server CPU ms/request", "db_ms": "database CPU ms/request", "rps": "req/s (wall clock)"}


def json_lines(log: Path) -> int:
    """Lines of the request log (JSON objects with a request id) in a server's output."""
    count = 0
    with log.open(errors="replace") as f:
        for line in f:
            if line.startswith("{") and '"request_id"' in line:
                count += 1
    return count


def table(rounds: list[dict], side: str = "on") -> str:
    """Markdown: per-round figures and medians, `side` (on, or a variant) vs off, per scenario."""
    lines = [
        f"| scenario: figure | {side.upper()} per round | OFF per round | {side.upper()} median | OFF median "
        f"| {side.upper()}/OFF of medians | {side.upper()}/OFF per round | median of {side.upper()}/OFF per round |",
        "|---|---|---|---:|---:|---:|---|---:|",
    ]
    for name in house.SCENARIOS:
        for figure, label in FIGURES.items():
            on, off = ([r[name][s][figure] for r in rounds] for s in (side, "off"))
            fmt = "{:.1f}" if figure == "rps" else "{:.3f}"
            mon, moff = statistics.median(on), statistics.median(off)
            # The sides of one round ran minutes apart at most: their ratio cancels the machine's drift.
            paired = [a / b for a, b in zip(on, off, strict=True)]
            lines.append(f"| {name}: {label} | {' '.join(fmt.format(v) for v in on)} | "
                         f"{' '.join(fmt.format(v) for v in off)} | {fmt.format(mon)} | {fmt.format(moff)} | "
                         f"{mon / moff:.1%} | {' '.join(f'{r:.1%}' for r in paired)} | "
                         f"{statistics.median(paired):.1%} |")  # fmt: skip
    return "\n".join(lines)


def together_round(sides: dict, args: argparse.Namespace) -> dict:
    """wrk each scenario against every side at the same time: whatever slows the machine slows them alike.

    Each side's "others" is what neither it nor the sides beside it (their servers and database) took."""
    out: dict[str, dict] = {}
    with ThreadPoolExecutor(len(sides)) as pool:
        for name in house.SCENARIOS:
            for load in (args.warmup, args.seconds):
                runs = {side: pool.submit(
                    benchkit.run_wrk, s["urls"][name], seconds=load, threads=1, connections=args.connections,
                    server=s["api"].process.pid, database=lambda db=s["db"]: house.backend_pids(db),
                ) for side, s in sides.items()}  # fmt: skip
                results = {side: run.result() for side, run in runs.items()}
            for side, r in results.items():
                if r.errors:
                    raise RuntimeError(f"search {name} at {side}: {r.errors} failed requests")
                beside = sum((o.server_cpu_ms + o.db_cpu_ms) * o.requests / 1000 / args.seconds
                             for other, o in results.items() if other != side)  # fmt: skip
                out.setdefault(name, {})[side] = {
                    "server_ms": r.server_cpu_ms, "db_ms": r.db_cpu_ms, "rps": r.rps, "p50_ms": r.p50_ms,
                    "requests": r.requests, "others": max(0.0, r.other_cores - beside),
                }  # fmt: skip
                print(f"  search {name:<12} {side}: {r.server_cpu_ms:6.3f} ms server CPU, {r.db_cpu_ms:6.3f} ms "
                      f"database CPU per request; {r.rps:7.1f} req/s ({r.requests:,} requests)",
                      flush=True)  # fmt: skip
    return out


def others(rounds: list[dict]) -> tuple[float, float]:
    """The least and most CPU (cores) that other processes took during a measurement."""
    values = [r[name][side]["others"] for r in rounds for name in house.SCENARIOS for side in SIDES]
    return min(values), max(values)


MODES = {
    False: "the sides loaded one after the other, back to back, so that a round's ratio cancels slow drift",
    True: "the sides loaded at the same time (`--together`), so that a round's ratio cancels the machine's "
          "moment-to-moment speed as well, and each round every setting restarted on the next side's database and "
          "port, the first to start and be loaded taking turns, so that what goes with a database, a port or "
          "being first cancels over the rounds",
}


def write_results(args: argparse.Namespace, commit: str, rounds: list[dict], started: datetime, logged: dict,
                  load: str) -> None:  # fmt: skip
    """Replace the `<!-- metrics-cost -->` section of bench/RESULTS.md (notes by hand stay outside it)."""
    import re

    low, high = others(rounds)
    section = f"""<!-- metrics-cost -->
### Figures of the last run

- command: `{" ".join(["python bench/metrics_cost.py", *args.argv])}`
- started {started:%Y-%m-%d %H:%M} UTC, {len(rounds)} rounds; commit {commit}; machine: nproc {os.cpu_count()},
  shared: load average {load} at the start, others took {low:.2f}–{high:.2f} cores during the measurements
- data: {args.rows:,} listings (template `{house.TEMPLATE}`), one copy per side
- search: `wrk -t{1 if args.together else 2} -c{args.connections} -d{args.seconds}s` after {args.warmup} s of warm-up,
  per scenario and side, after {args.warmup_rounds} whole round(s) not counted; {MODES[args.together]}; the target
  is judged on the median of the per-round ON/OFF ratios
- JSON request lines in gunicorn's output: ON {logged["on"]:,}, OFF {logged["off"]:,}

{table(rounds)}
<!-- /metrics-cost -->"""
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text()
    pattern = re.compile(r"<!-- metrics-cost -->.*?<!-- /metrics-cost -->", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section, text)
    else:
        text = text.rstrip("\n") + "\n\n## Metrics and request logs: cost on search\n\n" + section + "\n"
    path.write_text(text)
    print("wrote bench/RESULTS.md")


def main(argv: list[str] | None = None) -> int:
    """Run the interleaved rounds; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="listings the template database must hold")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=6, help="wrk duration per scenario and side")
    parser.add_argument("--warmup", type=int, default=2, help="wrk warm-up before each measurement")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--warmup-rounds", type=int, default=1, help="whole rounds run first and not counted")
    parser.add_argument("--deep-pages", type=int, default=200, help="pages followed before the cursor page")
    parser.add_argument("--together", action="store_true",
                        help="load the sides at the same time in each round, not one after the other")
    parser.add_argument("--variants", action="store_true",
                        help="also serve metrics alone and the log alone (printed, not written to RESULTS.md)")
    parser.add_argument("--no-results", action="store_true", help="do not write bench/RESULTS.md")
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else argv
    commit = house.git_head(ROOT)
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"serving {ROOT} at {commit}; load average {load}", flush=True)
    house.ensure_catalogue(args.rows)
    started = datetime.now(UTC)
    WORK.mkdir(parents=True, exist_ok=True)
    keys = {"SIGNING_KEYS_FILE": str(WORK / "R44.keys.json")}  # /healthz wants the node's signing keys
    subprocess.run([str(house.PYTHON), "-m", "flask", "--app", "app", "keys", "init", "--if-missing"], cwd=ROOT,
                   env={**os.environ, **house.SEARCH_ENV, **keys}, check=True, capture_output=True)  # fmt: skip
    served = SIDES | (VARIANTS if args.variants else {})
    # One database and port per side; with --together the settings move to the next database each round.
    slots = [(f"bench_metrics_{side}", benchkit.free_port()) for side in served]
    for db, _port in slots:
        house.copy_database(db)
    rounds: list[dict] = []
    logged = dict.fromkeys(served, 0)

    def serve(rotation: int) -> dict[str, dict]:
        """Every side's server, side i on slot i + rotation; their search URLs, checked to answer alike.

        The sides start, and are loaded, in an order that turns with the rotation too: the first one started
        read about 2 % more CPU per request than the second in a run with both sides the same."""
        sides: dict[str, dict] = {}
        names = list(served)
        for side in names[rotation % len(names) :] + names[: rotation % len(names)]:
            switches, i = served[side], names.index(side)
            db, port = slots[(i + rotation) % len(slots)]
            env = {**house.SEARCH_ENV, **keys, **switches, "DATABASE_URL": f"{house.SERVER}/{db}",
                   "PROMETHEUS_MULTIPROC_DIR": str(WORK / f"prometheus-{side}")}  # fmt: skip
            try:
                api = house.server(f"api-{side}", ROOT, env, port=port)
            except Exception:
                stop(sides)
                raise
            sides[side] = {"api": api, "db": db}
        for side in sides.values():
            side["urls"], side["answers"] = house.search_urls(side["api"], args.deep_pages)
        if len({str(side["answers"]) for side in sides.values()}) != 1:
            stop(sides)
            raise RuntimeError(f"the sides answer differently: {[side['answers'] for side in sides.values()]}")
        return sides

    def stop(sides: dict[str, dict]) -> None:
        for side, s in sides.items():
            s["api"].stop()
            logged[side] += json_lines(s["api"].log)

    sides = serve(0)
    try:
        print("search: every side answers every scenario with the same listings and totals", flush=True)
        if args.warmup_rounds:
            print(f"{args.warmup_rounds} warm-up round(s), not counted: caches, the planner's statistics, the "
                  "workers' first requests", flush=True)  # fmt: skip
            for _ in range(args.warmup_rounds):
                together_round(sides, args) if args.together else house.search_round(sides, list(served), args)
        for n in range(1, args.rounds + 1):
            if args.together:
                if n > 1:  # each setting on another database and port than last round: their own quirks cancel
                    stop(sides)
                    sides = serve(n - 1)
                    together_round(sides, args)  # the new workers' first requests, not counted
                place = ", ".join(f"{side} on {s['db']}" for side, s in sides.items())
                print(f"round {n} (at the same time: {place})", flush=True)
                rounds.append(together_round(sides, args))
            else:
                order = list(served) if n % 2 else list(reversed(served))
                print(f"round {n} ({' then '.join(order)})", flush=True)
                rounds.append(house.search_round(sides, order, args))
            (WORK / "rounds.json").write_text(json.dumps({"commit": commit, "rounds": rounds}, indent=1))
    finally:
        stop(sides)
    print(f"JSON request lines in gunicorn's output: on {logged['on']:,}, off {logged['off']:,}")
    if logged["off"] or not logged["on"]:
        raise RuntimeError("the switches did not take: expected request lines from ON only")
    for side in served:
        if side != "off":
            print("\n" + table(rounds, side))
    if not args.no_results:
        write_results(args, commit, rounds, started, logged, load)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; servers stopped", file=sys.stderr)
        sys.exit(130)
