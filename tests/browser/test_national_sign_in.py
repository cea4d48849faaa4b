"""“Sign in with the national identity” at a regional node, in Chromium, against real nodes.

National N0 and regional R44 run as gunicorn processes with their own SQLite databases and keys;
R44 is registered and approved at national through the registry API, so national knows its JWKS
and its exact redirect URI. A person with an account at national signs in at R44 through national
and gets one local account there; a local account of R44 keeps signing in with its password.
"""

import os
import re
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from ..live import LiveNode, logs, stop_all
from .conftest import Account

PERSON = Account("li.na@hangzhou-ai.example.cn", "Li Na", "Hangzhou AI Lab", "national password 1")
LOCAL = Account("wang.fang@r44.example.cn", "Wang Fang", "Guangzhou Render Studio")
REVIEWER = Account("reviewer@national.example.cn", "Zhao Min", "National computing registry")
NATIONAL_BUTTON = "Sign in with the national identity"
ACROSS_NODES = 15_000  # ms for steps where a node calls the other (token, keys, userinfo)


def application(node: LiveNode, jwks: dict) -> dict:
    """R44's application to national, with the keys it publishes and its own public URL."""
    return {
        "role": "regional", "requested_code": node.code, "province": node.code[1:], "parent": "N0",
        "construction_entity": {"name": "Guangdong Computing Construction Co.", "registered_capital_cny": 80_000_000},
        "operating_entity": {"name": "Guangdong Computing Operations Co.", "telecom_licence": "B1-20231234"},
        "contact": {"name": "Huang Wei", "email": "ops@r44.example.cn", "phone": "+86 20 8888 0000"},
        "public_url": node.url, "jwks": jwks,
    }  # fmt: skip


def register(national: LiveNode, node: LiveNode, tokens: tuple[str, str]) -> dict:
    """Apply for `node` through the registry API (as an account at national) and approve it as a national reviewer;
    its registry entry."""
    reviewer_token, applicant_token = tokens
    with httpx.Client(base_url=national.url, timeout=15) as client:
        jwks = node.get_json("/.well-known/jwks.json")
        applied = client.post("/registry/v1/applications", json=application(node, jwks),
                              headers={"Authorization": f"Bearer {applicant_token}"})  # fmt: skip
        assert applied.status_code == 201, f"{applied.text}\n{logs([national, node])}"
        reviewed = client.post(f"/registry/v1/applications/{applied.json()['id']}/reviews",
                               json={"stage": "final", "decision": "approve", "reason": "Licence and capital checked."},
                               headers={"Authorization": f"Bearer {reviewer_token}"})  # fmt: skip
        assert reviewed.status_code == 201, f"{reviewed.text}\n{logs([national, node])}"
        listed = client.get(f"/registry/v1/nodes/{node.code}")
    assert listed.status_code == 200, listed.text
    return listed.json()


def create_user(node: LiveNode, account: Account, role: str) -> None:
    node.flask_ok("users", "create", account.email, "--role", role, "--password", account.password,
                  "--name", account.name, "--org", account.org)  # fmt: skip


@pytest.fixture
def national_and_r44(tmp_path):
    """N0 with a person and a reviewer, R44 with a local account; R44 registered and approved at N0."""
    # Both on 127.0.0.1: each node names its cookies apart, so they share a host without clashing.
    national = LiveNode("N0", "national", tmp_path)
    r44 = LiveNode("R44", "regional", tmp_path, national_url=national.url)

    def bring_up(node: LiveNode) -> tuple[str, str] | None:
        node.prepare()
        node.start()
        if node is r44:
            create_user(r44, LOCAL, "buyer")
            return None
        create_user(national, PERSON, "buyer")
        create_user(national, REVIEWER, "national_reviewer")
        return tuple(national.flask_ok("tokens", "create", account.email).strip().splitlines()[-1]
                     for account in (REVIEWER, PERSON))  # fmt: skip

    started = time.monotonic()
    try:
        with ThreadPoolExecutor(2) as pool:
            tokens = next(pool.map(bring_up, (national, r44)))
        deadline = time.monotonic() + 30
        for node in (national, r44):
            node.wait_healthy(deadline)
        entry = register(national, r44, tokens)
        assert entry["status"] == "active" and entry["public_url"] == r44.url, entry
        print(f"nodes up and R44 registered in {time.monotonic() - started:.1f}s")
        yield national, r44
    finally:
        stop_all([national, r44])


def linked_accounts(r44: LiveNode) -> list[tuple]:
    """R44's accounts that are linked to a national subject, straight from its SQLite database."""
    with sqlite3.connect(r44.directory / "R44.sqlite3") as db:
        return db.execute(
            'SELECT national_subject, email, name, organization, role FROM "user" WHERE national_subject IS NOT NULL'
        ).fetchall()


def sign_out(page: Page, name: str) -> None:
    page.get_by_role("button", name=f"Sign out {name}").click()
    expect(page.get_by_role("link", name="Sign in", exact=True)).to_be_visible()


@pytest.mark.browser
def test_a_person_signs_in_at_a_regional_node_with_the_national_identity(browser, national_and_r44, tmp_path):
    """R44's login page sends the person to national and back, signed in, with one local account kept."""
    national, r44 = national_and_r44
    shots = Path(os.environ.get("SCREENSHOT_DIR", tmp_path))
    context = browser.new_context(locale="en-US", timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(f"{r44.url}/login")
        button = page.get_by_role("link", name=NATIONAL_BUTTON)
        expect(button).to_be_visible()
        page.screenshot(path=shots / "r44-login.png", full_page=True)

        # First sign-in: national asks for the password, then sends the person back to R44.
        button.click()
        expect(page).to_have_url(re.compile(re.escape(f"{national.url}/login?next=") + ".*authorize"))
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        expect(page.get_by_role("link", name=NATIONAL_BUTTON)).to_have_count(0)  # national is the identity
        page.get_by_label("Email", exact=True).fill(PERSON.email)
        page.get_by_label("Password", exact=True).fill(PERSON.password)
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.get_by_role("button", name=f"Sign out {PERSON.name}")).to_be_visible(timeout=ACROSS_NODES)
        assert page.url.startswith(r44.url + "/"), page.url
        expect(page.locator(".flash").first).to_contain_text("Signed in as Li Na with the national identity")
        page.screenshot(path=shots / "r44-signed-in.png", full_page=True)
        accounts = linked_accounts(r44)
        assert len(accounts) == 1, accounts
        subject, email, name, organization, role = accounts[0]
        assert subject.startswith("cpn-")
        assert (email, name, organization, role) == (PERSON.email, PERSON.name, PERSON.org, "buyer")

        # Second sign-in, from a page that needs it: national remembers the person and asks nothing;
        # R44 finds the same local account and goes on to the page.
        sign_out(page, PERSON.name)
        page.goto(f"{r44.url}/login?next=/tokens")
        page.get_by_role("link", name=NATIONAL_BUTTON).click()
        expect(page.get_by_role("button", name=f"Sign out {PERSON.name}")).to_be_visible(timeout=ACROSS_NODES)
        assert page.url == f"{r44.url}/tokens", page.url
        assert linked_accounts(r44) == accounts

        # A local account of R44 still signs in with its password.
        sign_out(page, PERSON.name)
        page.goto(f"{r44.url}/login")
        page.get_by_label("Email", exact=True).fill(LOCAL.email)
        page.get_by_label("Password", exact=True).fill(LOCAL.password)
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.get_by_role("button", name=f"Sign out {LOCAL.name}")).to_be_visible()
        assert linked_accounts(r44) == accounts
    except BaseException:
        print(logs([national, r44]))
        raise
    finally:
        context.close()
