"""Orders across nodes end to end: N0, R11, R44 and IJ01 as real gunicorn processes with their sync workers.

- A person signed in at R11 through national reserves an R44 listing from its page at R11: the hold is at
  R44, in R11's "My orders", and the units it takes are seen at national and R11 within seconds.
- R44 stopped: R11 answers origin_unreachable at once and nothing is held anywhere.
- An order group whose second part fails leaves nothing held anywhere.
"""

import re
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from marketplace.trading.forms import cst_input

from ..sync.live_federation import PASSWORD, LiveFederation

pytestmark = pytest.mark.e2e

VISIBLE_WITHIN = 10  # seconds: "within seconds", with room for a loaded 2-core machine
PERSON = "li.na@example.cn"


@pytest.fixture(scope="module")
def live(tmp_path_factory, request):
    """The federation running with its sync workers, and a person with an account at national."""
    federation = LiveFederation(tmp_path_factory.mktemp("cross-e2e"))
    failed_before = request.session.testsfailed
    try:
        for node in federation.nodes.values():  # one after another: the machine's two cores are shared
            federation.bring_up(node)
        deadline = time.monotonic() + 30
        for node in federation.nodes.values():
            node.wait_healthy(deadline)
        for code in ("R11", "R44", "IJ01"):
            federation.register(federation[code])
        for code in federation.origins:
            federation.workers[code].start()
        for code in federation.origins:
            federation.workers[code].wait_running()
            federation.wait_first_pull(code)
        federation.workers["N0"].start()
        federation.workers["N0"].wait_running()
        federation["N0"].flask_ok("users", "create", PERSON, "--role", "buyer", "--password", PASSWORD,
                                  "--name", "Li Na", "--org", "Hangzhou AI Lab")  # fmt: skip
        yield federation
    finally:
        federation.stop()
        if request.session.testsfailed > failed_before:
            print(federation.logs())


def csrf(client: httpx.Client, path: str) -> str:
    page = client.get(path)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def signed_in_at_r11(live: LiveFederation) -> httpx.Client:
    """A browser-like client at R11, signed in there through national (OpenID Connect, code flow with PKCE)."""
    national = httpx.Client(base_url=live["N0"].url, timeout=15)
    r11 = httpx.Client(base_url=live["R11"].url, timeout=15)
    credentials = {"email": PERSON, "password": PASSWORD, "csrf_token": csrf(national, "/login")}
    signed = national.post("/login", data=credentials)
    assert signed.status_code == 302, signed.text
    start = r11.get("/auth/national/login", params={"next": "/orders"})
    assert start.status_code == 302 and start.headers["location"].startswith(live["N0"].url), start.text
    back = national.get(start.headers["location"])
    assert back.status_code == 302 and back.headers["location"].startswith(live["R11"].url), back.text
    done = r11.get(back.headers["location"])
    assert done.status_code == 302 and done.headers["location"] == "/orders", done.text
    return r11


def api_token_at_r11(live: LiveFederation) -> str:
    """An API token of the person's R11 account, made when they first sign in there through national."""
    if not live["R11"].rows("SELECT 1 FROM user WHERE email = ?", PERSON):
        signed_in_at_r11(live)
    return live["R11"].flask_ok("tokens", "create", PERSON).strip().splitlines()[-1]


def window(hours_ahead: int = 4, hours: int = 6) -> tuple[datetime, datetime]:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=hours_ahead)
    return start, start + timedelta(hours=hours)


def copy_at(live: LiveFederation, node: str, code: str) -> dict | None:
    """The listing's document at `node`, None while it has not arrived."""
    response = live[node].api("GET", f"/api/v1/listings/{code}")
    return response.json() if response.status_code == 200 else None


def lowest_free(live: LiveFederation, node: str, code: str) -> int | None:
    """The fewest units free at any time, by `node`'s copy (no `capacity`: every unit is free throughout)."""
    document = copy_at(live, node, code)
    if document is None:
        return None
    capacity = document.get("capacity")
    return document["quantity"] if capacity is None else min(interval["free"] for interval in capacity)


def wait_for(check, timeout: float, what: str, live: LiveFederation) -> float:
    """Seconds until `check()` holds; fail naming `what` (with the logs) after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"{what} not seen within {timeout} s\n{live.logs()}")


def held_at(live: LiveFederation, node: str) -> list[tuple]:
    return live[node].rows("SELECT code, status, units, buyer_node FROM \"order\" WHERE status = 'held'")


def test_a_person_signed_in_at_r11_through_national_reserves_an_r44_listing(live):
    listing = live.publish("R44", quantity=4)
    code = listing["code"]
    listed = lambda: live["R11"].api("GET", f"/api/v1/listings/{code}").status_code == 200  # noqa: E731
    wait_for(listed, VISIBLE_WITHIN, "the listing at R11", live)
    r11 = signed_in_at_r11(live)
    page = r11.get(f"/listings/{code}")
    assert 'id="held-elsewhere"' in page.text and "national-identity-needed" not in page.text
    start, end = window()
    form = {"units": "3", "start": cst_input(start), "end": cst_input(end)}
    reserved = r11.post(f"/listings/{code}/reserve", data=form | {"csrf_token": csrf(r11, f"/listings/{code}")})
    placed_at = time.monotonic()
    assert reserved.status_code == 302, reserved.text
    [(order_code, status, units, buyer_node)] = held_at(live, "R44")
    assert (status, units, buyer_node) == ("held", 3, "R11")
    assert reserved.headers["location"] == f"/orders/{order_code}"
    assert live["R11"].rows("SELECT code, origin, status FROM remote_order") == [(order_code, "R44", "held")]
    mine = r11.get("/orders").text
    assert 'id="orders-elsewhere"' in mine and order_code in mine
    seen = {}
    for node in ("N0", "R11"):
        taken = lambda node=node: lowest_free(live, node, code) == 1  # noqa: E731
        wait_for(taken, VISIBLE_WITHIN, f"the taken units at {node}", live)
        seen[node] = round(time.monotonic() - placed_at, 2)
    print(f"3 units taken, seen after (s): {seen}")
    order_page = r11.get(f"/orders/{order_code}").text
    assert 'id="held-at"' in order_page and "R44" in order_page


def test_r44_stopped_answers_origin_unreachable_and_holds_nothing(live):
    listing = live.publish("R44", quantity=2)
    token = api_token_at_r11(live)
    before_r44 = live["R44"].rows('SELECT count(*) FROM "order"')
    before_r11 = live["R11"].rows("SELECT count(*) FROM remote_order")
    start, end = window()
    live["R44"].stop()
    try:
        asked = time.monotonic()
        body = {"listing_code": listing["code"], "units": 1, "start": start.isoformat(), "end": end.isoformat()}
        answer = live["R11"].api("POST", "/api/v1/orders", token=token, json=body)
        seconds = time.monotonic() - asked
    finally:
        live["R44"].start()
        live["R44"].wait_healthy(time.monotonic() + 30)
    assert answer.status_code == 503 and answer.json()["reason"] == "origin_unreachable", answer.text
    print(f"origin_unreachable answered in {seconds:.3f} s")
    assert live["R44"].rows('SELECT count(*) FROM "order"') == before_r44
    assert live["R11"].rows("SELECT count(*) FROM remote_order") == before_r11


def test_a_group_whose_second_part_fails_leaves_nothing_held_anywhere(live):
    first = live.publish("R44", quantity=2)["code"]
    second = live.publish("IJ01", quantity=1)["code"]
    token = api_token_at_r11(live)
    start, end = window(hours_ahead=30)
    part = {"units": 1, "start": start.isoformat(), "end": end.isoformat()}
    taken = live["R11"].api("POST", "/api/v1/orders", token=token, json=part | {"listing_code": second})
    assert taken.status_code == 201, taken.text
    held_before = {node: held_at(live, node) for node in ("R44", "IJ01")}
    group = {"parts": [part | {"listing_code": first}, part | {"listing_code": second}]}
    answer = live["R11"].api("POST", "/api/v1/order-groups", token=token, json=group)
    body = answer.json()
    assert answer.status_code == 409 and body["reason"] == "capacity_short", answer.text
    assert body["failed_part"]["part"] == 1 and body["failed_part"]["origin"] == "IJ01"
    assert [p["outcome"] for p in body["group"]["parts"]] == ["cancelled", "failed"]
    released = body["group"]["parts"][0]["order"]["code"]
    assert live["R44"].rows('SELECT status FROM "order" WHERE code = ?', released) == [("cancelled",)]
    assert {node: held_at(live, node) for node in ("R44", "IJ01")} == held_before
    assert live["R11"].rows("SELECT status FROM remote_order WHERE code = ?", released) == [("cancelled",)]
    # The released units are free again everywhere: the copies reach the origin's version (held, then
    # released: two changes of capacity) and show both units free.
    version = copy_at(live, "R44", first)["version"]
    assert version >= 3 and lowest_free(live, "R44", first) == 2
    for node in ("N0", "R11"):
        free = lambda node=node: (copy_at(live, node, first) or {}).get("version") == version  # noqa: E731
        wait_for(free, VISIBLE_WITHIN, f"{first} at version {version} at {node}", live)
        assert lowest_free(live, node, first) == 2
