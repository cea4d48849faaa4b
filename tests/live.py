"""Real nodes for end-to-end tests: each a gunicorn on a 127.0.0.1 port with its own SQLite database and keys."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository: where app.py lives
# Variables of the surrounding shell that would change what a node is; each node gets its own.
NODE_VARIABLES = ("DATABASE_URL", "SECRET_KEY", "NODE_CODE", "NODE_ROLE", "PUBLIC_URL", "NATIONAL_URL", "PARENT_URL",
                  "SIGNING_KEYS_FILE", "FEDERATION_ALLOW_PRIVATE_ADDRESSES", "BIND", "WEB_CONCURRENCY")  # fmt: skip


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveNode:
    """One node: its environment, its gunicorn, and its log."""

    code: str
    role: str
    directory: Path
    national_url: str = ""
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.directory / f"{self.code}.gunicorn.log"

    @property
    def env(self) -> dict:
        base = {name: value for name, value in os.environ.items() if name not in NODE_VARIABLES}
        return base | {
            "DATABASE_URL": f"sqlite:///{self.directory / f'{self.code}.sqlite3'}",
            "SECRET_KEY": f"e2e-{self.code}",
            "NODE_CODE": self.code,
            "NODE_ROLE": self.role,
            "PUBLIC_URL": self.url,
            "NATIONAL_URL": self.national_url or self.url,
            "SIGNING_KEYS_FILE": str(self.directory / f"{self.code}.keys.json"),
            "FEDERATION_ALLOW_PRIVATE_ADDRESSES": "1",
            "PYTHONUNBUFFERED": "1",
        }

    def flask(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run `flask --app app ARGS` as this node; the caller checks the outcome."""
        return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=timeout)  # fmt: skip

    def flask_ok(self, *args: str) -> str:
        """Run `flask --app app ARGS` as this node and return its output; fail with it if it fails."""
        done = self.flask(*args)
        assert done.returncode == 0, f"{self.code}: flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def prepare(self) -> None:
        """Migrate a fresh database and make this node's signing keys."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.flask_ok("db", "upgrade")
        self.flask_ok("keys", "init")

    def start(self) -> None:
        """Start gunicorn (2 workers) in a session of its own; its output goes to the log."""
        argv = [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{self.port}", "--no-control-socket",
                "--access-logfile", "-", "--error-logfile", "-", "app:app"]  # fmt: skip
        with self.log.open("w") as log:
            self.process = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)  # fmt: skip

    def wait_healthy(self, deadline: float) -> None:
        """Return once /healthz answers 200; fail with the log if gunicorn exits or the deadline passes."""
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.code}: gunicorn exited with {self.process.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"{self.code}: gunicorn did not answer /healthz in time:\n{self.tail()}")

    def get_json(self, path: str) -> dict:
        """GET a JSON document from this node."""
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return json.load(response)

    def terminate(self) -> None:
        """Ask gunicorn to stop (SIGTERM to the master we started)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def wait_stopped(self, timeout: float = 10) -> None:
        """Wait for gunicorn to exit; kill its process group if it does not in time."""
        if self.process is None:
            return
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # the group we started: master and workers
            self.process.wait()

    def tail(self, chars: int = 6_000) -> str:
        """The end of this node's gunicorn log."""
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else "(no log)"


def logs(nodes) -> str:
    """Every node's log tail, for a failure message."""
    return "\n".join(f"----- {node.code} ({node.url}) -----\n{node.tail()}" for node in nodes)


def stop_all(nodes) -> None:
    """Stop every node's gunicorn: all asked at once, then each waited for (and killed after a timeout)."""
    nodes = list(nodes)
    for node in nodes:
        node.terminate()
    for node in nodes:
        node.wait_stopped()
