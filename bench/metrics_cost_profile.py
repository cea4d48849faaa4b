"""Where the request hook's CPU goes on search: py-spy over the ON server of bench/metrics_cost.py under wrk.

    .venv/bin/python bench/metrics_cost_profile.py [--seconds 15]

Serves this checkout with the default settings (metrics and JSON lines on), loads the filtered, sorted first
page and the cursor page with wrk while py-spy samples the gunicorn workers, and prints the share of samples
in `requestlog._finish` / `_start` and the functions under `_finish`, with the server CPU per request of the
same wrk runs to turn shares into milliseconds.
"""

import argparse
import collections
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchkit  # noqa: E402
import house  # noqa: E402
import house_profile  # noqa: E402
import metrics_cost  # noqa: E402


def under(path: Path, marker: str) -> tuple[collections.Counter, int, int]:
    """Samples per function below the first frame containing `marker`, the samples with it, and the total."""
    below, hits, total = collections.Counter(), 0, 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [house_profile._name(f) for f in stack.split(";") if not f.startswith("process ")]
        n = int(count)
        total += n
        at = next((i for i, f in enumerate(frames) if marker in f), None)
        if at is None:
            continue
        hits += n
        for name in set(frames[at + 1 :]):
            below[name] += n
    return below, hits, total


def main() -> int:
    """Profile the ON server under wrk; print the hook's share."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=15, help="wrk duration per scenario")
    args = parser.parse_args()
    work = metrics_cost.WORK
    work.mkdir(parents=True, exist_ok=True)
    keys = {"SIGNING_KEYS_FILE": str(work / "R44.keys.json")}
    command = [str(house.PYTHON), "-m", "flask", "--app", "app", "keys", "init", "--if-missing"]
    subprocess.run(
        command, cwd=house.ROOT, env={**os.environ, **house.SEARCH_ENV, **keys}, check=True, capture_output=True
    )
    dsn = house.copy_database("bench_metrics_on")
    env = {**house.SEARCH_ENV, **keys, "DATABASE_URL": dsn, "PROMETHEUS_MULTIPROC_DIR": str(work / "prometheus-prof")}
    api = house.server("api-profile", house.ROOT, env)
    try:
        urls, _answers = house.search_urls(api, 200)
        for name in ("filter_sort", "text", "deep_cursor"):
            benchkit.run_wrk(urls[name], seconds=2, threads=2, connections=8)
            output = work / f"profile-{name}.txt"
            output.unlink(missing_ok=True)
            with house_profile.sampled(api, output):
                r = benchkit.run_wrk(urls[name], seconds=args.seconds, threads=2, connections=8,
                                     server=api.process.pid)  # fmt: skip
            below, hits, total = under(output, "_finish (marketplace/requestlog.py")
            _b, start_hits, _t = under(output, "_start (marketplace/requestlog.py")
            share = hits / total
            print(f"{name}: {r.server_cpu_ms:.3f} ms server CPU per request ({r.requests:,} requests); "
                  f"{total:,} samples, _finish {hits:,} ({share:.1%} = {share * r.server_cpu_ms:.3f} ms), "
                  f"_start {start_hits:,} ({start_hits / total:.1%})")  # fmt: skip
            for func, n in below.most_common(14):
                print(f"    {n / total:6.2%}  {func}")
    finally:
        api.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
