"""Child of bench/house.py: a regional node pushes its whole outbox to its parent with its own sync worker.

Run with the code under test first on the path (PYTHONPATH=<worktree>, cwd=<worktree>) and the node's
environment (DATABASE_URL, NODE_CODE, NODE_ROLE, PARENT_URL, SIGNING_KEYS_FILE, ...). Prints one JSON line:
events sent, wall seconds, and this process's CPU seconds while pushing.
"""

import json
import resource
import sys
import time


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    """Push everything waiting; report what it took."""
    import os

    import httpx

    from marketplace import create_app
    from marketplace.federation import http
    from marketplace.sync.worker import SyncWorker

    # A batch of 500 events can take longer than the node's 5 s read timeout on a machine as busy as this
    # one; a timed-out batch would be sent again, and counted twice.
    http.TIMEOUT = httpx.Timeout(120.0, connect=10.0)

    config = dict(os.environ)
    config["FEDERATION_ALLOW_PRIVATE_ADDRESSES"] = os.environ.get("FEDERATION_ALLOW_PRIVATE_ADDRESSES") == "1"
    keys = {"DATABASE_URL", "NODE_CODE", "NODE_ROLE", "PUBLIC_URL", "NATIONAL_URL", "PARENT_URL", "SECRET_KEY",
            "SIGNING_KEYS_FILE", "FEDERATION_ALLOW_PRIVATE_ADDRESSES"}  # fmt: skip
    app = create_app({k: v for k, v in config.items() if k in keys})
    worker = SyncWorker(app)
    cpu, started = _cpu_seconds(), time.perf_counter()
    sent = worker.push_all()
    elapsed, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    print(json.dumps({"sent": sent, "seconds": elapsed, "cpu_seconds": cpu, "code": app.root_path}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
