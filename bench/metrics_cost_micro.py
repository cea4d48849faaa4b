"""What the per-request metrics and the JSON request line cost in themselves: the request hook timed in process.

    PROMETHEUS_MULTIPROC_DIR=<empty dir> DATABASE_URL=... SIGNING_KEYS_FILE=... NODE_CODE=R44 SECRET_KEY=bench \
        .venv/bin/python bench/metrics_cost_micro.py 2>/some/file

Calls the after-request hook (marketplace/requestlog.py's `_finish`) on the search endpoint's request, in
four settings (nothing, metrics only, log line only, both), interleaved over several rounds, and prints the
median CPU microseconds per call of each. Run it with PROMETHEUS_MULTIPROC_DIR set, as under gunicorn, and
standard error sent to a file, where the JSON lines go.
"""

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Response  # noqa: E402

from marketplace import create_app, requestlog  # noqa: E402

SETTINGS = {"off": (False, False), "metrics": (True, False), "log": (False, True), "both": (True, True)}


def per_call_us(app, calls: int) -> float:
    """CPU microseconds per `_start` + `_finish` of one search request."""
    with app.test_request_context("/api/v1/listings?resource_type=gpu&gpu_model=H100&sort=price"):
        started = time.process_time()
        for _ in range(calls):
            requestlog._start()
            requestlog._finish(Response("{}", mimetype="application/json"))
        return (time.process_time() - started) * 1e6 / calls


def main() -> int:
    """Interleave the settings over rounds; print the medians."""
    app = create_app()
    calls, rounds = 20_000, 7
    found: dict[str, list[float]] = {name: [] for name in SETTINGS}
    per_call_us(app, 2_000)  # warm-up: metric children created, files mapped
    for n in range(rounds):
        names = list(SETTINGS) if n % 2 == 0 else list(reversed(SETTINGS))
        for name in names:
            app.config["REQUEST_METRICS"], log = SETTINGS[name]
            requestlog.access_log.disabled = not log
            found[name].append(per_call_us(app, calls))
    for name, values in found.items():
        print(f"{name:8} median {statistics.median(values):7.1f} us per request  "
              f"(rounds: {' '.join(f'{v:.1f}' for v in values)})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
