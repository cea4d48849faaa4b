"""gunicorn settings for a marketplace node: `gunicorn app:app` reads this file."""

import multiprocessing
import os
import shutil
import tempfile

bind = os.environ.get("BIND", "127.0.0.1:8000")
# Sync workers gave the steadiest throughput here; one per core plus one to cover I/O waits.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
worker_class = "sync"
timeout = 30  # a request that runs longer is stuck: recycle the worker
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then, with jitter so they do not restart together.
max_requests = 20_000
max_requests_jitter = 2_000
# A node runs several gunicorns side by side in development; none needs the control socket.
control_socket_disable = True
# The app writes one JSON line per request (with its request id); gunicorn's own access log is off
# unless ACCESS_LOG names a file.
accesslog = os.environ.get("ACCESS_LOG") or None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Prometheus' multiprocess mode: every worker writes its samples to files in one directory, which
# /metrics adds up. Set before any worker imports prometheus_client; emptied at each start.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="cpn-metrics-")


def on_starting(server):
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)


def post_worker_init(worker):
    # What the worker loaded to serve (the app, its modules, tables and catalogues) lives as long as the
    # worker: out of the collector's sight, a full collection no longer walks it (~90 ms every few dozen
    # requests, the p99 of every endpoint).
    import gc

    gc.freeze()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
