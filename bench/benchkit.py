"""Tools of the benchmarks: gunicorn servers on 127.0.0.1, bounded HTTP requests, and wrk runs."""

import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = ROOT / ".venv/bin/gunicorn"
WRK = "/usr/bin/wrk"


def gunicorn_settings() -> list[str]:
    """The node's own gunicorn settings when the repo has them, else 2 sync workers (DESIGN.md); no recycling.

    The node recycles a worker after max_requests (a guard against slow leaks): the replacement forks and
    imports the app while its share of connections waits, about a second. A round that crosses it measures
    that second, not the requests (a cursor round once had p99 1,200 ms so), so benchmarked servers never
    recycle (a command-line option wins over the file); run_wrk reports any worker replaced all the same.
    """
    conf = ROOT / "gunicorn.conf.py"
    return [*(["-c", str(conf)] if conf.exists() else ["-w", "2"]), "--max-requests", "0"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def flask(env: dict, *args: str, timeout: float = 600) -> str:
    """`flask --app app ARGS` of this checkout with a node's environment (added to this one); its output."""
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=os.environ | env,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)}: {done.stdout}{done.stderr}")
    return done.stdout


class Server:
    """A gunicorn process serving `wsgi_app` on 127.0.0.1; stop() always ends it and its workers."""

    def __init__(self, name: str, wsgi_app: str, env: dict[str, str], log_dir: Path, chdir: Path = ROOT,
                 port: int | None = None):  # fmt: skip
        """`port`: one chosen before the server starts (a node whose PUBLIC_URL must name it); else a free one."""
        self.name = name
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log_dir / f"{name}.log"
        command = [str(GUNICORN), *gunicorn_settings(), "-b", f"127.0.0.1:{self.port}", "--chdir", str(chdir)]
        with self.log.open("wb") as log:
            # A session of its own, so that a Ctrl-C meant for the benchmark does not half-stop the server.
            self.process = subprocess.Popen(
                [*command, wsgi_app], cwd=chdir, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def wait_healthy(self, timeout: float = 60) -> None:
        """Wait until /healthz answers 200; fail with the server's log otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if get(f"{self.url}/healthz", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer /healthz within {timeout:.0f} s:\n{self.log_tail()}")

    def pids(self) -> list[int]:
        """The gunicorn master and its workers."""
        return [self.process.pid, *children(self.process.pid)]

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the server's log, for error messages."""
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def stop(self) -> None:
        """Stop gracefully (SIGTERM to the gunicorn master), then kill what is left of its process group."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # the group is this server's alone (start_new_session)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=15)


def children(pid: int) -> list[int]:
    """Direct child processes of `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # Field 4 of /proc/<pid>/stat is the parent; the command name before it may contain spaces.
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


_TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        # The fields after the command name, which is in parentheses and may contain spaces.
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU time used so far by each process that still exists."""
    used = {}
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            used[pid] = (int(fields[11]) + int(fields[12])) / _TICK  # utime and stime, in clock ticks
    return used


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two cpu_seconds() snapshots; a process new in `after` counts from its start."""
    return sum(used - before.get(pid, 0.0) for pid, used in after.items())


def tree_cpu_seconds(master: int) -> float:
    """CPU time of a gunicorn master and all its workers so far, including workers that have exited.

    gunicorn replaces workers (max_requests): a worker that exits and is reaped moves its time into the
    master's cutime/cstime, so the sum stays whole across replacements.
    """
    fields = _stat_fields(master)
    if fields is None:
        return 0.0
    own = sum(int(v) for v in fields[11:15]) / _TICK  # utime, stime, cutime, cstime
    return own + sum(cpu_seconds(children(master)).values())


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (user, nice, system, irq, softirq)."""
    user, nice, system, _idle, _iowait, irq, softirq = Path("/proc/stat").read_text().split()[1:8]
    return sum(int(v) for v in (user, nice, system, irq, softirq)) / _TICK


def wait_quiet(max_cores: float = 0.3, timeout: float = 120) -> float:
    """Wait (up to `timeout` s) until the rest of the machine uses under `max_cores`; return what it used last.

    Call it while the benchmark's own servers are idle: whatever is busy then is someone else's work.
    """
    deadline = time.monotonic() + timeout
    while True:
        before = busy_cpu_seconds()
        time.sleep(1.0)
        used = busy_cpu_seconds() - before
        if used < max_cores or time.monotonic() > deadline:
            return used


def get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    """GET a URL on 127.0.0.1: status and body, 4xx/5xx included."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"benchmarks only talk to 127.0.0.1, not {url}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def get_json(url: str, timeout: float = 10) -> dict:
    """GET a URL that must answer 200 with JSON."""
    status, body = get(url, timeout)
    if status != 200:
        raise RuntimeError(f"GET {url} answered {status}: {body[:500]!r}")
    return json.loads(body)


@dataclass
class WrkResult:
    """What one wrk run measured."""

    p50_ms: float
    p99_ms: float
    rps: float
    requests: int
    errors: int  # socket errors and non-2xx/3xx answers
    # CPU per request of the server's processes and of the database's, measured from /proc: unlike
    # throughput, these hardly move when other work competes for the machine.
    server_cpu_ms: float = 0.0
    db_cpu_ms: float = 0.0
    other_cores: float = 0.0  # CPU that processes outside the benchmark took meanwhile, in cores
    workers_replaced: int = 0  # gunicorn workers that exited during the run (crashed, timed out, recycled)

    def as_dict(self) -> dict:
        """The figures as plain data."""
        return dict(self.__dict__)


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _latency_ms(text: str, percentile: str) -> float:
    match = re.search(rf"^\s*{percentile}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
    if not match:
        raise ValueError(f"no {percentile}% latency in wrk's output:\n{text}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(text: str) -> WrkResult:
    """p50/p99 latency, requests per second and errors from `wrk --latency` output."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    total = re.search(r"^\s*(\d+) requests in", text, re.M)
    if not rps or not total:
        raise ValueError(f"unexpected wrk output:\n{text}")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors += int(non2xx.group(1)) if non2xx else 0
    return WrkResult(_latency_ms(text, "50"), _latency_ms(text, "99"), float(rps.group(1)), int(total.group(1)), errors)


def run_wrk(
    url: str,
    *,
    seconds: int,
    threads: int,
    connections: int,
    server: int | None = None,
    database: Callable[[], list[int]] = list,
) -> WrkResult:
    """Load `url` with wrk for `seconds`; also CPU per request of the `server` (gunicorn master) and `database`.

    `database` lists the database's processes serving the servers; it is asked before and after, so that
    connections opened meanwhile count too.
    """
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"benchmarks only load 127.0.0.1, not {url}")
    command = [WRK, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "--latency", url]
    server_before = tree_cpu_seconds(server) if server else 0.0
    workers_before = set(children(server)) if server else set()
    db_before = cpu_seconds(database())
    busy_before, wrk_before, started = busy_cpu_seconds(), _children_cpu_seconds(), time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    busy, wrk_used, elapsed = (
        busy_cpu_seconds() - busy_before,
        _children_cpu_seconds() - wrk_before,
        time.monotonic() - started,
    )
    server_used = tree_cpu_seconds(server) - server_before if server else 0.0
    db_used = cpu_used(db_before, cpu_seconds(database()))
    result = parse_wrk(done.stdout)
    result.workers_replaced = len(workers_before - set(children(server))) if server else 0
    if result.requests:
        result.server_cpu_ms = server_used * 1000 / result.requests
        result.db_cpu_ms = db_used * 1000 / result.requests
    if server:  # without the server's processes nothing can be told apart
        result.other_cores = max(0.0, busy - wrk_used - server_used - db_used) / elapsed
    return result


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def write_results_section(name: str, section: str) -> None:
    """Put `section` (which starts `<!-- name -->` and ends `<!-- /name -->`) into bench/RESULTS.md, replacing its
    earlier run; notes written by hand outside it stay."""
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"<!-- {re.escape(name)} -->.*?<!-- /{re.escape(name)} -->", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)
    print("wrote bench/RESULTS.md")
