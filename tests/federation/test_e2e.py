"""The federation end to end: national N0 and regional nodes R11 and R44 as real gunicorn processes.

The regional nodes are registered at national through the registry API, then R44 asks national
for tokens with its own key (`flask federation whoami`) and calls national and R11 over HTTP.
"""

import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from ..live import LiveNode, logs, stop_all

pytestmark = pytest.mark.e2e

REVIEWER = "reviewer@national.example.cn"
APPLICANT = "applicant@national.example.cn"  # applying needs an account at national


def application(node: LiveNode, jwks: dict) -> dict:
    """A valid application for regional node `node`, with the keys it publishes."""
    province = node.code[1:]
    return {
        "role": "regional",
        "requested_code": node.code,
        "province": province,
        "parent": "N0",
        "construction_entity": {"name": f"Province {province} Computing Construction Co.",
                                "registered_capital_cny": 80_000_000},
        "operating_entity": {"name": f"Province {province} Computing Operations Co.", "telecom_licence": "B1-20231234"},
        "contact": {"name": "Chen Jing", "email": f"ops@{node.code.lower()}.example.cn", "phone": "+86 20 8888 0000"},
        "public_url": node.url,
        "jwks": jwks,
    }  # fmt: skip


def register(national: LiveNode, node: LiveNode, tokens: tuple[str, str], everyone) -> None:
    """Apply for `node` with its published JWKS, and approve the final review as a national reviewer."""
    reviewer_token, applicant_token = tokens
    jwks = node.get_json("/.well-known/jwks.json")
    assert len(jwks["keys"]) == 2, jwks
    with httpx.Client(base_url=national.url, timeout=15) as client:
        applied = client.post("/registry/v1/applications", json=application(node, jwks),
                              headers={"Authorization": f"Bearer {applicant_token}"})  # fmt: skip
        assert applied.status_code == 201, f"{applied.text}\n{logs(everyone)}"
        assert applied.json()["due_stage"] == "final"
        reviewed = client.post(
            f"/registry/v1/applications/{applied.json()['id']}/reviews",
            json={"stage": "final", "decision": "approve", "reason": "Licence and capital checked."},
            headers={"Authorization": f"Bearer {reviewer_token}"},
        )
        assert reviewed.status_code == 201, f"{reviewed.text}\n{logs(everyone)}"
        listed = client.get(f"/registry/v1/nodes/{node.code}")
    assert listed.status_code == 200, listed.text
    entry = listed.json()
    assert (entry["status"], entry["public_url"], entry["jwks"]) == ("active", node.url, jwks)


@pytest.fixture(scope="module")
def live_federation(tmp_path_factory, request):
    """N0, R11 and R44 running under gunicorn, R11 and R44 registered at N0 through the registry API."""
    directory = tmp_path_factory.mktemp("e2e")
    national = LiveNode("N0", "national", directory)
    nodes = {"N0": national} | {
        code: LiveNode(code, "regional", directory, national_url=national.url) for code in ("R11", "R44")
    }
    failed_before = request.session.testsfailed

    def bring_up(node: LiveNode) -> tuple[str, str] | None:
        node.prepare()
        node.start()
        if node is not national:
            return None
        national.flask_ok("users", "create", REVIEWER, "--role", "national_reviewer",
                          "--password", "correct horse battery", "--name", "Zhao Min")  # fmt: skip
        national.flask_ok("users", "create", APPLICANT, "--role", "buyer",
                          "--password", "correct horse battery", "--name", "Chen Jing")  # fmt: skip
        return tuple(national.flask_ok("tokens", "create", email).strip().splitlines()[-1]
                     for email in (REVIEWER, APPLICANT))  # fmt: skip

    try:
        with ThreadPoolExecutor(len(nodes)) as pool:
            tokens = list(pool.map(bring_up, nodes.values()))[0]
        deadline = time.monotonic() + 30
        for node in nodes.values():
            node.wait_healthy(deadline)
        for code in ("R11", "R44"):
            register(national, nodes[code], tokens, nodes.values())
        yield nodes
    finally:
        stop_all(nodes.values())
        if request.session.testsfailed > failed_before:
            print(logs(nodes.values()))  # shown in the failed test's captured teardown output


def whoami(caller: LiveNode, target: str):
    """`flask federation whoami TARGET` run as node `caller`."""
    return caller.flask("federation", "whoami", target)


def answer(done, nodes) -> dict:
    """The JSON that `federation whoami` printed; fails with its output and the servers' logs otherwise."""
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}\n{logs(nodes.values())}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_registered_node_calls_national_and_another_node_with_tokens_from_national(live_federation):
    """R44 gets tokens from national with its own key; national and R11 each see R44 calling them."""
    r44 = live_federation["R44"]
    assert answer(whoami(r44, "N0"), live_federation) == {"node_code": "R44", "audience": "urn:cpn:node:N0"}
    assert answer(whoami(r44, "R11"), live_federation) == {"node_code": "R44", "audience": "urn:cpn:node:R11"}
    r11 = live_federation["R11"]
    assert answer(whoami(r11, "R44"), live_federation) == {"node_code": "R11", "audience": "urn:cpn:node:R44"}


def test_a_call_without_a_token_is_refused_by_a_live_node(live_federation):
    """R11's whoami answers 401 with a Bearer challenge to a caller without a token."""
    response = httpx.get(live_federation["R11"].url + "/federation/v1/whoami", timeout=10)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer error=")


def test_a_suspended_node_gets_no_token(live_federation):
    """Once national suspends R44 (flask registry suspend), R44's next whoami fails: national refuses the token."""
    national, r44 = live_federation["N0"], live_federation["R44"]
    assert "R44 is now suspended" in national.flask_ok("registry", "suspend", "R44", "--reason", "E2E suspension")
    assert national.get_json("/registry/v1/nodes/R44")["status"] == "suspended"
    done = whoami(r44, "R11")
    assert done.returncode != 0, f"R44 still got an answer while suspended:\n{done.stdout}\n{done.stderr}"
    assert "national refused a token" in done.stderr, f"{done.stderr}\n{logs(live_federation.values())}"
    assert done.stdout.strip() == ""
