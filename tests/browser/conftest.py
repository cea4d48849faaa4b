"""Fixtures for browser tests: a gunicorn node on a fresh database, and Debian's Chromium."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]  # the repository: where app.py lives
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
PASSWORD = "correct horse battery"


@dataclass
class Account:
    email: str
    name: str
    org: str
    password: str = PASSWORD


@dataclass
class LiveServer:
    url: str
    log: Path
    seller: Account
    buyer: Account


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _flask(env: dict, *args: str) -> None:
    """Run `flask --app app ARGS` in the repository; fail with its output if it fails."""
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"


def _wait_healthy(url: str, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"gunicorn did not answer /healthz within {timeout}s:\n{log.read_text()}")


@pytest.fixture
def live_server(tmp_path):
    """A gunicorn node (2 workers) on a fresh migrated SQLite database with a seller, a buyer and demo listings."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'node.sqlite3'}", "SECRET_KEY": "browser-test",
           "NODE_CODE": "R44", "NODE_ROLE": "regional", "PUBLIC_URL": url, "PYTHONUNBUFFERED": "1"}  # fmt: skip
    seller = Account("seller@example.cn", "Ma Lin", "Shapotou Computing Co.")
    buyer = Account("buyer@example.cn", "Li Na", "Yinchuan AI Lab")
    _flask(env, "db", "upgrade")
    for account, role in ((seller, "seller"), (buyer, "buyer")):
        _flask(env, "users", "create", account.email, "--role", role, "--password", account.password,
               "--name", account.name, "--org", account.org)  # fmt: skip
    _flask(env, "demo-data", "--count", "30")
    log = tmp_path / "gunicorn.log"
    with log.open("w") as log_file:
        argv = [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "--no-control-socket"]
        process = subprocess.Popen([*argv, "--access-logfile", "-", "app:app"], cwd=ROOT, env=env, stdout=log_file,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        _wait_healthy(url, process, log)
        yield LiveServer(url, log, seller, buyer)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the group we started: master and workers
            process.wait()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium under Playwright; skipped without it, except on CI where it must be there."""
    if not os.access(CHROMIUM, os.X_OK):
        message = f"{CHROMIUM} is missing: apt-get install -y chromium"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI is set, so browser tests must run)", pytrace=False)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_context(browser, live_server):
    """Make fresh browser contexts (separate cookies: separate users) on the live server; closed afterwards."""
    contexts = []

    def make():
        context = browser.new_context(base_url=live_server.url, locale="en-US", timezone_id="Asia/Shanghai")
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the server's log to the report of a failed browser test."""
    report = yield
    server = item.funcargs.get("live_server") if hasattr(item, "funcargs") else None
    if report.failed and isinstance(server, LiveServer) and server.log.exists():
        report.sections.append(("gunicorn log", server.log.read_text()[-20_000:]))
    return report
