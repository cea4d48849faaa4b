"""Fixtures for browser tests: a gunicorn node on a fresh database, and Debian's Chromium."""

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from ..live import LiveNode, stop_all

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


def create_account(node: LiveNode, account: Account, role: str) -> None:
    """`flask users create` at `node`."""
    node.flask_ok("users", "create", account.email, "--role", role, "--password", account.password,
                  "--name", account.name, "--org", account.org)  # fmt: skip


@contextmanager
def running(node: LiveNode):
    """Start a prepared node, wait for /healthz, and stop it afterwards."""
    node.start()
    try:
        node.wait_healthy(time.monotonic() + 30)
        yield node
    finally:
        stop_all([node])


@pytest.fixture
def live_server(tmp_path):
    """A gunicorn node (2 workers) on a fresh migrated SQLite database with a seller, a buyer and demo listings."""
    node = LiveNode("R44", "regional", tmp_path)
    seller = Account("seller@example.cn", "Ma Lin", "Shapotou Computing Co.")
    buyer = Account("buyer@example.cn", "Li Na", "Yinchuan AI Lab")
    node.prepare()
    create_account(node, seller, "seller")
    create_account(node, buyer, "buyer")
    node.flask_ok("demo-data", "--count", "30")
    with running(node):
        yield LiveServer(node.url, node.log, seller, buyer)


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


@contextmanager
def context_factory(browser, base_url: str):
    """Make fresh browser contexts (separate cookies: separate people) on `base_url`; closed afterwards."""
    contexts = []

    def make():
        context = browser.new_context(base_url=base_url, locale="en-US", timezone_id="Asia/Shanghai")
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    try:
        yield make
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def new_context(browser, live_server):
    """Fresh browser contexts on the live server."""
    with context_factory(browser, live_server.url) as make:
        yield make


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the server's log to the report of a failed browser test."""
    report = yield
    server = item.funcargs.get("live_server") if hasattr(item, "funcargs") else None
    if report.failed and isinstance(server, LiveServer) and server.log.exists():
        report.sections.append(("gunicorn log", server.log.read_text()[-20_000:]))
    return report
