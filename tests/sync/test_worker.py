"""The sync worker: one round, the circuit breaker, and catching up after an outage."""

import threading
import time

from marketplace.sync.worker import FAILURES_TO_OPEN, CircuitBreaker, SyncWorker

from .test_push import at_national, listings_at, publish, snapshot_at


def test_one_round_pushes_and_pulls(federation):
    codes = publish(federation, "R44", count=4)
    summary = SyncWorker(federation["R44"]).once()
    assert summary["pushed"] == 4
    assert SyncWorker(federation["R11"]).once() == {"pushed": 0, "received": 4, "applied": 4}
    assert set(listings_at(federation, "R11")) == set(codes)


def test_catching_up_on_a_long_feed_never_holds_back_the_nodes_own_changes(federation):
    from .test_push import push

    remote = publish(federation, "R44", count=6)
    push(federation, "R44")
    [own] = publish(federation, "R11")
    worker = SyncWorker(federation["R11"], feed_page=2)
    delay, more = worker.turn()
    assert (delay, more) == (0.0, True)
    assert own in at_national(federation)  # pushed before the feed is read to its end
    assert len(set(listings_at(federation, "R11")) & set(remote)) == 2  # one page of the feed per turn
    turns = 1
    while more and turns < 10:
        delay, more = worker.turn()
        turns += 1
    assert set(remote) <= set(listings_at(federation, "R11")) and turns == 4
    assert worker.turn() == (0.0, False)  # nothing waits: run() sleeps for poll_interval


def test_the_circuit_opens_after_repeated_failures_and_closes_on_success():
    breaker = CircuitBreaker(base_delay=0.01, max_delay=0.05)
    for _ in range(FAILURES_TO_OPEN - 1):
        breaker.failed()
        assert breaker.allows()
    delay = breaker.failed()
    assert not breaker.allows() and 0 < delay <= 0.075
    time.sleep(delay)
    assert breaker.allows()
    breaker.succeeded()
    assert breaker.failures == 0


def test_nothing_is_lost_while_national_is_down(federation):
    worker = SyncWorker(federation["R44"])
    federation.route_http(down={"N0": None})
    codes = publish(federation, "R44", count=5)
    for _ in range(FAILURES_TO_OPEN):
        assert worker._step(worker.push_breaker, worker.push_all) > 0
    assert not worker.push_breaker.allows() and "connection refused" in worker.last_error
    assert worker.pending() == 5
    federation.route_http()  # national is back
    worker.push_breaker.open_until = 0
    assert worker._step(worker.push_breaker, worker.push_all) == 0
    assert set(at_national(federation)) == set(codes)
    assert snapshot_at(federation, "N0", "R44")["digest"] == snapshot_at(federation, "R44", "R44")["digest"]


def test_run_stops_cleanly_when_told(federation):
    publish(federation, "R44", count=2)
    stop = threading.Event()
    worker = SyncWorker(federation["R44"], pull_interval=0.1, poll_interval=0.05)
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    deadline = time.monotonic() + 10
    while len(at_national(federation)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(5)
    assert not thread.is_alive() and len(at_national(federation)) == 2


def status_of(federation, code: str) -> dict:
    from marketplace.accounts.services import create_api_token, create_user

    app = federation[code]
    with app.app_context(), app.extensions["db"].session() as session:
        operator = create_user(session=session, email=f"op{time.monotonic_ns()}@x.cn", password="x" * 12,
                               role="operator", name="Op")  # fmt: skip
        token, _ = create_api_token(session=session, user=operator, name="status")
        session.commit()
    response = app.test_client().get("/federation/v1/sync/status", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_status_shows_lag_errors_and_every_origin_at_national(federation):
    worker = SyncWorker(federation["R44"])
    publish(federation, "R44", count=3)
    federation.route_http(down={"N0": None})
    worker._step(worker.push_breaker, worker.push_all)
    before = status_of(federation, "R44")
    assert before["up"]["lag_events"] == 3 and "connection refused" in before["up"]["last_error"]
    federation.route_http()
    worker._step(worker.push_breaker, worker.push_all)
    after = status_of(federation, "R44")
    assert after["up"]["lag_events"] == 0 and after["up"]["last_seq"] == 3
    origins = {o["node_code"]: o for o in status_of(federation, "N0")["origins"]}
    assert origins["R44"]["listings"] == 3 and not origins["R44"]["unreachable"]


def test_unreachable_means_one_thing_in_the_status_and_in_search(federation, monkeypatch):
    # A quiet node that answers its probes is reachable, however long since its last event; a node
    # whose probes fail for SYNC_STALE_AFTER is unreachable in the status and hidden from search alike.
    from .test_push import push

    publish(federation, "R44", count=1)
    push(federation, "R44")
    national = SyncWorker(federation.national)
    monkeypatch.setitem(federation.national.config, "SYNC_STALE_AFTER", 0)
    federation.route_http(down={"R11": None})
    national.probe()
    origins = {o["node_code"]: o for o in status_of(federation, "N0")["origins"]}
    assert origins["R11"]["unreachable"] and not origins["R44"]["unreachable"]
    assert origins["R44"]["last_healthy_at"] is not None
    search = federation.national.test_client()
    assert search.get("/api/v1/listings?origin=R44").get_json()["total"] == 1


def test_status_is_for_operators(federation):
    assert federation["R44"].test_client().get("/federation/v1/sync/status").status_code == 401


def test_national_marks_an_unreachable_origins_listings_stale_and_never_deletes_them(federation, monkeypatch):
    from .test_push import push

    codes = publish(federation, "R44", count=2)
    push(federation, "R44")
    national = SyncWorker(federation.national)
    search = federation.national.test_client()
    assert national.probe()["R44"] is True
    monkeypatch.setitem(federation.national.config, "SYNC_STALE_AFTER", 0)
    federation.route_http(down={"R44": None})
    assert national.probe()["R44"] is False
    assert search.get("/api/v1/listings?origin=R44").get_json()["total"] == 0  # hidden by default
    shown = search.get("/api/v1/listings?origin=R44&include_stale=true").get_json()
    assert sorted(item["code"] for item in shown["items"]) == sorted(codes)
    assert set(at_national(federation)) == set(codes)  # kept
    federation.route_http()
    national.probe()
    assert search.get("/api/v1/listings?origin=R44").get_json()["total"] == 2


def test_listings_of_the_largest_size_travel_in_messages_below_one_megabyte(federation):
    """60 listings with descriptions of the longest allowed come to 1.2 MB of events, more than a node accepts of a
    request or reads of an answer (1 MiB): pushes and feed pages are cut by bytes, and everything still arrives."""
    codes = publish(federation, "R44", count=60, description="算力" * 2500)
    pushed = SyncWorker(federation["R44"]).push_once()
    assert pushed.sent == 60 and not pushed.rejected
    assert set(codes) == set(at_national(federation))
    reader, pages = SyncWorker(federation["R11"]), []
    while not pages or pages[-1].has_more:
        pages.append(reader.pull_once())
    assert set(codes) == set(listings_at(federation, "R11"))
    assert len(pages) == 2 and sum(page.received for page in pages) == 60  # a page holds 768 KiB of events


def test_a_page_too_large_to_read_is_asked_for_again_with_fewer_events(federation, monkeypatch):
    """A national whose pages outgrow what this node reads (here: a reader limited to 100 kB) is asked for half as
    many events until a page fits; the reader never stands still behind it."""
    codes = publish(federation, "R44", count=12, description="算力" * 2500)  # about 21 kB an event
    SyncWorker(federation["R44"]).push_once()
    monkeypatch.setattr("marketplace.federation.http.MAX_RESPONSE_BYTES", 100_000)
    reader = SyncWorker(federation["R11"])
    assert reader.pull_once().received == 3  # 500, 250, ... 7 events were too many; 3 fit
    reader.pull_all()
    assert set(codes) == set(listings_at(federation, "R11"))
