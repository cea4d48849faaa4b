"""Round trips between nodes: measured by every node's watch, served, and collected by national."""

from datetime import timedelta

from sqlalchemy import select

from marketplace.federation.client import call_node
from marketplace.models import RttSample, SyncSample
from marketplace.models.types import utcnow
from marketplace.sync.worker import SyncWorker


def links_of(federation, code: str) -> dict:
    with federation[code].app_context():
        response = call_node("GET", f"{federation.url(code)}/federation/v1/latency", audience=code,
                             scope="registry:read")  # fmt: skip
    assert response.status_code == 200, response.text
    return {(link["from"], link["to"]): link for link in response.json()["links"]}


def test_every_node_measures_its_parent_and_national_and_national_collects_the_matrix(federation):
    for code in ("IJ01", "R11", "R44"):
        SyncWorker(federation[code]).watch()
        SyncWorker(federation[code]).watch()
    industry = links_of(federation, "IJ01")
    assert set(industry) == {("IJ01", "R11"), ("IJ01", "N0")}  # its parent and national
    assert all(link["rtt_ms_p95"] >= link["rtt_ms_p50"] > 0 for link in industry.values())
    assert set(links_of(federation, "R44")) == {("R44", "N0")}  # a regional node's parent is national

    found = SyncWorker(federation.national).watch()
    assert {code for code, (healthy, _ms) in found["probed"].items() if healthy} == {"R11", "R44", "IJ01"}
    matrix = federation.national.test_client().get("/registry/v1/latency").get_json()["links"]
    pairs = {(link["from"], link["to"]) for link in matrix}
    assert {("N0", "R11"), ("N0", "R44"), ("N0", "IJ01")} <= pairs  # national's own probes
    assert {("IJ01", "R11"), ("IJ01", "N0"), ("R11", "N0"), ("R44", "N0")} <= pairs  # what the nodes reported


def test_a_node_that_does_not_answer_has_no_round_trip_and_only_the_last_hour_counts(federation):
    federation.route_http(down={"R44": None})
    found = SyncWorker(federation.national).watch()
    assert found["probed"]["R44"] == (False, None)
    federation.route_http()
    national = federation.national
    with national.app_context(), national.extensions["db"].session() as session:
        session.add(RttSample(from_code="N0", to_code="R44", rtt_ms=9999.0, measured_at=utcnow() - timedelta(hours=2)))
        session.commit()
    SyncWorker(national).watch()
    matrix = national.test_client().get("/registry/v1/latency").get_json()["links"]
    r44 = [link for link in matrix if (link["from"], link["to"]) == ("N0", "R44")]
    assert len(r44) == 1 and r44[0]["rtt_ms_p95"] < 9999.0  # the two-hour-old sample is out of the window


def test_the_watch_keeps_a_lag_sample_for_the_chart(federation):
    SyncWorker(federation["R11"]).watch()
    app = federation["R11"]
    with app.app_context(), app.extensions["db"].session() as session:
        directions = sorted(session.scalars(select(SyncSample.direction)))
    assert directions == ["down", "up"]


def test_latency_needs_a_node_token(federation):
    assert federation["R11"].test_client().get("/federation/v1/latency").status_code == 401
