"""What per-request metrics and JSON request logs cost on search: one checkout served twice, on and off, interleaved.

    .venv/bin/python bench/metrics_cost.py [--rounds 4] [--seconds 6]

Serves this checkout under gunicorn twice, on two copies of bench/house.py's catalogue (the template database
`bench_house_tpl`, loaded by house.py): "on" with the default settings, "off" with `LOG_REQUESTS=0
REQUEST_METRICS=0`. Every round runs house.py's search scenarios (filtered, sorted first page, text search,
deep cursor page) under wrk against each in turn, the order flipping each round, and reports server CPU
milliseconds per request (gunicorn master and workers, from /proc), database CPU per request and req/s.
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
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import house  # noqa: E402  (also puts the checkout and bench/ on the path, and picks the venv's gunicorn)

ROOT = house.ROOT
WORK = ROOT / "bench" / "_work" / "metrics"
house.WORK = WORK  # the servers' logs go here, apart from house.py's own runs
SIDES = {"on": {}, "off": {"LOG_REQUESTS": "0", "REQUEST_METRICS": "0"}}
FIGURES = {"server_ms": "server CPU ms/request", "db_ms": "database CPU ms/request", "rps": "req/s (wall clock)"}


def json_lines(log: Path) -> int:
    """Lines of the request log (JSON objects with a request id) in a server's output."""
    count = 0
    with log.open(errors="replace") as f:
        for line in f:
            if line.startswith("{") and '"request_id"' in line:
                count += 1
    return count


def table(rounds: list[dict]) -> str:
    """Markdown: per-round figures and medians, on vs off, per scenario."""
    lines = [
        "| scenario: figure | ON per round | OFF per round | ON median | OFF median | ON/OFF of medians "
        "| ON/OFF per round | median of ON/OFF per round |",
        "|---|---|---|---:|---:|---:|---|---:|",
    ]
    for name in house.SCENARIOS:
        for figure, label in FIGURES.items():
            on, off = ([r[name][side][figure] for r in rounds] for side in ("on", "off"))
            fmt = "{:.1f}" if figure == "rps" else "{:.3f}"
            mon, moff = statistics.median(on), statistics.median(off)
            # The sides of one round ran minutes apart at most: their ratio cancels the machine's drift.
            paired = [a / b for a, b in zip(on, off, strict=True)]
            lines.append(f"| {name}: {label} | {' '.join(fmt.format(v) for v in on)} | "
                         f"{' '.join(fmt.format(v) for v in off)} | {fmt.format(mon)} | {fmt.format(moff)} | "
                         f"{mon / moff:.1%} | {' '.join(f'{r:.1%}' for r in paired)} | "
                         f"{statistics.median(paired):.1%} |")  # fmt: skip
    return "\n".join(lines)


def others(rounds: list[dict]) -> tuple[float, float]:
    """The least and most CPU (cores) that other processes took during a measurement."""
    values = [r[name][side]["others"] for r in rounds for name in house.SCENARIOS for side in SIDES]
    return min(values), max(values)


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
- search: `wrk -t2 -c{args.connections} -d{args.seconds}s` after {args.warmup} s of warm-up, per scenario and side,
  after {args.warmup_rounds} whole round(s) not counted; the target is judged on the median of the per-round
  ON/OFF ratios (each round's two sides ran back to back, so their ratio cancels the machine's drift)
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
    rounds: list[dict] = []
    with ExitStack() as stack:
        sides: dict[str, dict] = {}
        for side, switches in SIDES.items():
            db = f"bench_metrics_{side}"
            dsn = house.copy_database(db)
            env = {**house.SEARCH_ENV, **keys, **switches, "DATABASE_URL": dsn,
                   "PROMETHEUS_MULTIPROC_DIR": str(WORK / f"prometheus-{side}")}  # fmt: skip
            api = house.server(f"api-{side}", ROOT, env)
            stack.callback(api.stop)
            urls, answers = house.search_urls(api, args.deep_pages)
            sides[side] = {"api": api, "db": db, "urls": urls, "answers": answers}
        if sides["on"]["answers"] != sides["off"]["answers"]:
            raise RuntimeError(f"the sides answer differently: {sides['on']['answers']} {sides['off']['answers']}")
        print("search: both sides answer every scenario with the same listings and totals", flush=True)
        if args.warmup_rounds:
            print(f"{args.warmup_rounds} warm-up round(s), not counted: caches, the planner's statistics, the "
                  "workers' first requests", flush=True)  # fmt: skip
            for _ in range(args.warmup_rounds):
                house.search_round(sides, ["on", "off"], args)
        for n in range(1, args.rounds + 1):
            order = ["on", "off"] if n % 2 else ["off", "on"]
            print(f"round {n} ({' then '.join(order)})", flush=True)
            rounds.append(house.search_round(sides, order, args))
            (WORK / "rounds.json").write_text(json.dumps({"commit": commit, "rounds": rounds}, indent=1))
        logged = {side: json_lines(sides[side]["api"].log) for side in SIDES}
    print(f"JSON request lines in gunicorn's output: on {logged['on']:,}, off {logged['off']:,}")
    if logged["off"] or not logged["on"]:
        raise RuntimeError("the switches did not take: expected request lines from ON only")
    print("\n" + table(rounds))
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
