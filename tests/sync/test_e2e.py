"""Listing sync end to end (PROTOCOL.md §6): real gunicorn nodes, real `flask sync run` workers, real failures.

N0, R11, R44 and IJ01 (under R11) run as gunicorn processes on 127.0.0.1, each with its own SQLite
database and keys, registered through national's registry API (tests/sync/live_federation.py).
The tests publish through the listings API and compare catalogues by snapshot digests:

- a listing published at R44 becomes visible at every other node within seconds;
- national stopped for 30 seconds while R44 publishes and edits 200 listings: once it is back, every
  catalogue converges, and each of R44's events is in national's feed exactly once;
- R44's sync worker killed with SIGKILL ten times while 300 listings are published: the same.

Two more: an industry node's worker outlives national being unreachable as it starts, and a node keeps
serving while its worker waits for a slow national.
"""

import os
import random
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from .live_federation import LiveFederation, unique_word

pytestmark = pytest.mark.e2e

OUTAGE_SECONDS = 30
VISIBLE_WITHIN = 10  # seconds: "within a few seconds", with room for a loaded 2-core machine
# After an outage the worker's backoff may be waiting out up to 1.5 × 32 s before its next try.
CATCH_UP_WITHIN = 75


@pytest.fixture(scope="module")
def live(tmp_path_factory, request):
    """The federation running, every node registered at national, every sync worker started."""
    federation = LiveFederation(tmp_path_factory.mktemp("sync-e2e"))
    failed_before = request.session.testsfailed
    try:
        with ThreadPoolExecutor(len(federation.nodes)) as pool:
            list(pool.map(federation.bring_up, federation.nodes.values()))
        deadline = time.monotonic() + 30
        for node in federation.nodes.values():
            node.wait_healthy(deadline)
        for code in ("R11", "R44", "IJ01"):  # IJ01's parent R11 first
            federation.register(federation[code])
        # National's worker (it probes every origin's /healthz) starts once the others have pulled the feed
        # once: see test_a_node_keeps_serving_while_national_is_slow for the stall the two can cause.
        origins = [federation.workers[code] for code in federation.origins]
        for worker in origins:
            worker.start()
        for worker in origins:
            worker.wait_running()
            federation.wait_first_pull(worker.node.code)
        federation.workers["N0"].start()
        federation.workers["N0"].wait_running()
        federation.wait_probed()
        yield federation
    finally:
        federation.stop()
        if request.session.testsfailed > failed_before:
            print(federation.logs())  # shown in the failed test's captured teardown output


def wait_visible(live: LiveFederation, word: str, code: str, nodes: list[str], since: float) -> dict[str, float]:
    """Seconds from `since` until `code` is found by searching `word` at each of `nodes`."""
    seen: dict[str, float] = {}
    deadline = since + VISIBLE_WITHIN
    while len(seen) < len(nodes) and time.monotonic() < deadline:
        for node in set(nodes) - set(seen):
            if any(item["code"] == code for item in live.search(node, word)):
                seen[node] = round(time.monotonic() - since, 2)
        time.sleep(0.05)
    assert set(seen) == set(nodes), f"{code} seen only at {seen} after {VISIBLE_WITHIN} s\n{live.logs()}"
    return seen


def last_seq(node, query: str) -> int:
    """The one integer a query on `node`'s database answers, 0 when it finds no row."""
    rows = node.rows(query)
    return rows[0][0] if rows and rows[0][0] is not None else 0


def waiting_at(live: LiveFederation) -> int:
    """Events in R44's outbox past what R44 has recorded as acknowledged by national."""
    r44 = live["R44"]
    return last_seq(r44, "SELECT max(seq) FROM outbox_event") - acked_at_r44(live)


def acked_at_r44(live: LiveFederation) -> int:
    """The highest seq of its own events R44 has recorded as acknowledged by national."""
    return last_seq(live["R44"], "SELECT last_seq FROM sync_cursor WHERE stream = 'out:N0'")


def applied_at_national(live: LiveFederation) -> int:
    """The highest seq of R44's events national has applied."""
    return last_seq(live["N0"], "SELECT last_seq FROM sync_cursor WHERE stream = 'in:R44'")


def test_a_listing_published_at_one_node_becomes_visible_at_every_other_node(live):
    """R44's listing reaches national (push), R11 and IJ01 (national's feed); IJ01's goes up through R11."""
    word = unique_word()
    listing = live.publish("R44", title=f"8× H100 {word}")
    latency = wait_visible(live, word, listing["code"], ["N0", "R11", "IJ01"], since=time.monotonic())
    print(f"\nR44 -> visible after {latency} s")
    found = live.search("N0", word)
    assert [(item["code"], item["origin"], item["version"]) for item in found] == [(listing["code"], "R44", 1)]

    relayed_word = unique_word()
    relayed = live.publish("IJ01", title=f"4× A800 {relayed_word}", gpu_count=4, gpu_model="A800")
    latency = wait_visible(live, relayed_word, relayed["code"], ["R11", "N0", "R44"], since=time.monotonic())
    print(f"IJ01 -> visible after {latency} s (relayed by R11)")
    live.wait_converged(20)


def test_national_draws_the_latency_matrix_of_the_running_nodes(live):
    """Every worker's watch times its parent and national; national probes every node and collects their links."""
    expected = {("N0", "R11"), ("N0", "R44"), ("N0", "IJ01"), ("R11", "N0"), ("R44", "N0"), ("IJ01", "N0"),
                ("IJ01", "R11")}  # fmt: skip
    deadline, pairs = time.monotonic() + 60, set()
    while time.monotonic() < deadline and not expected <= pairs:
        matrix = live["N0"].get_json("/registry/v1/latency")["links"]
        pairs = {(link["from"], link["to"]) for link in matrix}
        time.sleep(0.5)
    assert expected <= pairs, f"links measured so far: {sorted(pairs)}"
    assert all(0 < link["rtt_ms_p50"] <= link["rtt_ms_p95"] for link in matrix)
    print(
        "\n"
        + "\n".join(
            f"{link['from']} -> {link['to']}: p50 {link['rtt_ms_p50']} ms, p95 {link['rtt_ms_p95']} ms"
            for link in matrix
        )
    )


def test_national_down_for_30_seconds_loses_nothing_and_applies_nothing_twice(live):
    """While national is stopped R44 publishes 150 listings and edits 50; afterwards all catalogues converge."""
    live.wait_converged(30)
    national = live["N0"]
    [(events_before,)] = live["R44"].rows("SELECT count(*) FROM outbox_event")
    national.stop()
    stopped = time.monotonic()
    word = unique_word()
    with ThreadPoolExecutor(3) as pool:
        codes = [doc["code"] for doc in pool.map(lambda i: live.publish("R44", title=f"Outage {word} {i}"), range(150))]
        edited = list(pool.map(lambda c: live.edit("R44", c, unit_price=3100), codes[:50]))
    assert {(doc["version"], doc["unit_price"]) for doc in edited} == {(2, 3100)}
    during = live.sync_status("R44")["up"]
    assert during["lag_events"] == 200 and during["last_error"], during

    time.sleep(max(0.0, stopped + OUTAGE_SECONDS - time.monotonic()))
    national.start()
    national.wait_healthy(time.monotonic() + 30)
    back = time.monotonic()
    caught_up = live.wait_converged(CATCH_UP_WITHIN, also=lambda: live.lag("R44"))
    print(f"\n200 changes while national was down {back - stopped:.1f} s; "
          f"converged {caught_up:.1f} s after it was back")  # fmt: skip

    events, problems = live.events_applied_once("R44")
    assert problems == [], problems
    assert events == events_before + 200
    at_national = national.api("GET", f"/api/v1/listings/{codes[0]}").json()
    assert (at_national["version"], at_national["unit_price"], at_national["origin"]) == (2, 3100, "R44")


def test_the_sync_worker_killed_ten_times_mid_batch_loses_nothing_and_applies_nothing_twice(live):
    """R44's worker is SIGKILLed at random moments while 300 listings are published; the catalogues converge."""
    live.wait_converged(30)
    worker = live.workers["R44"]
    [(events_before,)] = live["R44"].rows("SELECT count(*) FROM outbox_event")
    word = unique_word()
    rng = random.Random()
    waiting_at_kills, unacknowledged = [], 0
    started = time.monotonic()
    with ThreadPoolExecutor(3) as publisher:
        published = [publisher.submit(live.publish, "R44", title=f"Crash {word} {i}") for i in range(300)]
        for _ in range(10):
            time.sleep(rng.uniform(0.2, 0.6))
            waiting_at_kills.append(waiting_at(live))
            worker.kill()
            time.sleep(0.05)  # a batch already sent is applied at national even though its sender is gone
            unacknowledged += applied_at_national(live) > acked_at_r44(live)
            worker.start()
            worker.wait_running()
        codes = [future.result()["code"] for future in published]
    publishing = time.monotonic() - started
    assert len(set(codes)) == 300
    converged = live.wait_converged(60, also=lambda: live.lag("R44"))
    print(f"\n300 listings published in {publishing:.1f} s; events waiting at each SIGKILL: {waiting_at_kills}; "
          f"{unacknowledged} kills came after national applied a batch and before R44 recorded it; "
          f"converged {converged:.1f} s after the last restart")  # fmt: skip
    assert sum(1 for waiting in waiting_at_kills if waiting) >= 3, "the kills should land while events are waiting"

    events, problems = live.events_applied_once("R44")
    assert problems == [], problems
    assert events == events_before + 300


# --- surviving national's absence and slowness -----------------------------------------------------


def test_an_industry_nodes_worker_outlives_national_being_down_when_it_starts(live):
    """IJ01's worker started while national is stopped keeps running, to push once national is back (§6)."""
    national, worker = live["N0"], live.workers["IJ01"]
    worker.stop()
    national.stop()
    try:
        worker.start()
        deadline = time.monotonic() + 20
        banner = "sync worker of IJ01 running"
        while worker.log.read_text().count(banner) < worker.starts and worker.process.poll() is None:
            assert time.monotonic() < deadline, worker.tail()
            time.sleep(0.05)
        time.sleep(2)  # its first round: national refuses connections
        exit_code, log = worker.process.poll(), worker.tail(2_000)
    finally:
        national.start()
        national.wait_healthy(time.monotonic() + 30)
        if worker.process.poll() is not None:
            worker.start()
            worker.wait_running()
    assert exit_code is None, f"IJ01's sync worker exited with {exit_code} while national was down:\n{log}"


def test_a_node_keeps_serving_while_national_is_slow(live):
    """With national frozen (SIGSTOP: connections accepted, never answered), R11 still answers at once."""
    live.wait_converged(30)
    national = live["N0"]
    os.killpg(national.process.pid, signal.SIGSTOP)
    answers = []
    try:
        time.sleep(1.0)  # R11's worker pulls every 0.5 s: it is waiting for national now
        for _ in range(20):
            # A page that waited on national would hang here until the client gives up, and fail the test.
            response = httpx.get(live["R11"].url + "/listings", timeout=httpx.Timeout(5.0))
            answers.append(response.status_code)
    finally:
        os.killpg(national.process.pid, signal.SIGCONT)
    live.wait_converged(30)
    assert answers == [200] * 20
