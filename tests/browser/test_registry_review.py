"""On the national node, an applicant applies for a regional node and a national reviewer approves it."""

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from joserfc.jwk import ECKey
from playwright.sync_api import Page, expect

from ..live import LiveNode
from .conftest import Account, context_factory, create_account, running


@dataclass
class NationalServer:
    url: str
    log: Path
    reviewer: Account
    applicant: Account


@pytest.fixture
def national_server(tmp_path):
    """A gunicorn national node (N0, 2 workers) on a fresh migrated SQLite database, with a national reviewer
    and an applicant's account."""
    node = LiveNode("N0", "national", tmp_path)
    reviewer = Account("reviewer@national.example.cn", "Zhao Min", "National computing registry")
    applicant = Account("huang.wei@gd.example.cn", "Huang Wei", "Guangdong Computing Network Operations Co.")
    node.prepare()
    create_account(node, reviewer, "national_reviewer")
    create_account(node, applicant, "buyer")
    with running(node):
        yield NationalServer(node.url, node.log, reviewer, applicant)


@pytest.fixture
def national_context(browser, national_server):
    """Fresh browser contexts on the national node."""
    with context_factory(browser, national_server.url) as make:
        yield make


def public_jwks() -> dict:
    """The applicant's public signing key, as a JWKS (generated with joserfc, Authlib's JOSE library)."""
    key = ECKey.generate_key("P-256").as_dict(private=False)
    key.update(kid="gd-2025-1", use="sig", alg="ES256")
    return {"keys": [key]}


def sign_in(page: Page, account: Account) -> None:
    """Sign in through the login form."""
    page.goto("/login")
    page.get_by_label("Email", exact=True).fill(account.email)
    page.get_by_label("Password", exact=True).fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name=f"Sign out {account.name}")).to_be_visible()


APPLICATION = {
    "Requested node code": "R44",
    "Public URL": "https://gd.example.cn",
    "Construction entity name": "Guangdong Computing Infrastructure Co.",
    "Registered capital (CNY)": "80,000,000",
    "Operating entity name": "Guangdong Computing Network Operations Co.",
    "Telecom licence number": "粤B2-20090059",
    "Contact name": "Huang Wei",
    "Contact email": "ops@gd.example.cn",
    "Contact phone": "+86 20 8888 0000",
}


@pytest.mark.browser
def test_regional_application_is_reviewed_and_joins_the_tree(national_server, national_context, tmp_path):
    """Apply (a JSON mistake is shown beside the JWKS), follow it, approve it in the queue, see R44 in the tree."""
    shots = Path(os.environ.get("SCREENSHOT_DIR", tmp_path))

    # The applicant, not signed in, finds the form from the national home page; applying needs an account.
    applicant = national_context().new_page()
    applicant.goto("/")
    expect(applicant.get_by_role("search", name="Resolve an identification code")).to_be_visible()
    applicant.get_by_role("link", name="Apply", exact=True).click()
    expect(applicant.get_by_role("heading", name="Sign in")).to_be_visible()
    applicant.get_by_label("Email", exact=True).fill(national_server.applicant.email)
    applicant.get_by_label("Password", exact=True).fill(national_server.applicant.password)
    applicant.get_by_role("button", name="Sign in").click()
    expect(applicant.get_by_role("heading", name="Apply to build a node")).to_be_visible()
    applicant.get_by_label("Role", exact=True).select_option(label="Regional node (one per province)")
    applicant.get_by_label("Province", exact=True).select_option(label="Guangdong")
    applicant.get_by_label("Parent node", exact=True).select_option(value="N0")
    for label, value in APPLICATION.items():
        applicant.get_by_label(label, exact=True).fill(value)
    jwks_field = applicant.get_by_label("JWKS (public keys, JSON)", exact=True)
    jwks = json.dumps(public_jwks(), indent=2)
    jwks_field.fill(jwks[:-3])  # pasted without its end
    applicant.get_by_role("button", name="Submit application").click()

    expect(applicant.get_by_role("alert")).to_contain_text("The application was not submitted")
    expect(jwks_field).to_have_attribute("aria-invalid", "true")
    expect(applicant.locator(".field", has=jwks_field).locator(".field-error")).to_contain_text("Not valid JSON")
    expect(applicant.get_by_label("Operating entity name", exact=True)).to_have_value(
        APPLICATION["Operating entity name"]
    )

    jwks_field.fill(jwks)
    applicant.get_by_role("button", name="Submit application").click()
    expect(applicant).to_have_url(re.compile(r"/registry/applications/\d+$"))
    application_path = applicant.url.removeprefix(national_server.url)
    expect(applicant.locator(".flash").first).to_contain_text("for R44 is submitted")
    token = applicant.locator("#access-token").inner_text().strip()
    assert token.startswith("app_")
    expect(applicant.locator(".specs-table")).to_contain_text("the final review is due, by a national reviewer")
    applicant.screenshot(path=shots / "application-status.png", full_page=True)
    applicant.reload()
    expect(applicant.locator("#access-token")).to_have_count(0)  # shown once; the page stays readable
    expect(applicant.get_by_role("heading", level=1)).to_contain_text("R44")

    # The national reviewer approves it from the queue.
    reviewer = national_context().new_page()
    sign_in(reviewer, national_server.reviewer)
    reviewer.get_by_role("link", name="Review queue").click()
    reviewer.get_by_role("link", name="Review R44").click()
    expect(reviewer.get_by_role("heading", level=1)).to_contain_text("R44")
    expect(reviewer.get_by_text("Stage: final review")).to_be_visible()
    reviewer.get_by_label("Approve", exact=True).check()
    reviewer.get_by_label("Reason", exact=True).fill("Capital, licence and keys checked against the notice.")
    reviewer.get_by_role("button", name="Record decision").click()
    expect(reviewer.get_by_role("status")).to_contain_text("R44 is now active in the directory")
    expect(reviewer.locator("table.review-record")).to_contain_text(national_server.reviewer.email)
    reviewer.get_by_role("link", name="Review queue").click()
    expect(reviewer.get_by_text("Nothing is waiting for a final review.")).to_be_visible()

    # The node is active in the tree, under national.
    reviewer.get_by_role("link", name="Nodes", exact=True).click()
    tree = reviewer.get_by_role("list", name="Node tree")
    r44 = tree.locator(".tree-node", has=reviewer.get_by_role("link", name="R44"))
    expect(r44).to_contain_text("Guangdong Computing Network Operations Co.")
    expect(r44).to_contain_text("Guangdong (44)")
    expect(r44.locator(".badge")).to_have_text("active")
    expect(r44).to_contain_text("https://gd.example.cn")
    expect(tree.locator("li", has=reviewer.get_by_role("link", name="N0")).locator("ul .tree-node")).to_have_count(1)
    reviewer.screenshot(path=shots / "node-tree.png", full_page=True)

    # The applicant's page shows the decision; another browser needs the token to read it.
    applicant.reload()
    expect(applicant.locator("table.review-record")).to_contain_text("Capital, licence and keys checked")
    stranger = national_context().new_page()
    response = stranger.goto(application_path)
    assert response is not None and response.status == 404
    stranger.get_by_label("Access token", exact=True).fill(token)
    stranger.get_by_role("button", name="Open the application").click()
    expect(stranger.get_by_role("heading", level=1)).to_contain_text("R44")
    expect(stranger.locator(".specs-table")).to_contain_text("approved")
