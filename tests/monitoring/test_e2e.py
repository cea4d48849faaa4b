"""/metrics through real gunicorn with several workers: every worker's counts add up (multiprocess mode)."""

import json
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ..factories import gpu_payload
from ..live import LiveNode, stop_all

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery"


def call(node: LiveNode, method: str, path: str, token: str, body: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(
        node.url + path,
        method=method,
        data=json.dumps(body).encode() if body else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # a new connection each time: any worker answers
        return response.status, response.read()


def samples(text: str) -> dict:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}  # fmt: skip


def test_metrics_add_up_across_gunicorn_workers_and_read_the_database(tmp_path):
    node = LiveNode("R11", "regional", tmp_path)
    node.prepare()
    tokens = {}
    for role in ("operator", "seller"):
        node.flask_ok("users", "create", f"{role}@r11.example.cn", "--role", role, "--password", PASSWORD,
                      "--name", role)  # fmt: skip
        tokens[role] = node.flask_ok("tokens", "create", f"{role}@r11.example.cn").strip().splitlines()[-1]
    node.start()
    try:
        node.wait_healthy(time.monotonic() + 60)
        for _ in range(8):
            assert call(node, "POST", "/api/v1/listings", tokens["seller"], gpu_payload(quantity=3))[0] == 201
        for _ in range(12):
            assert call(node, "GET", "/api/v1/listings?per_page=1", tokens["seller"])[0] == 200
        status, body = call(node, "GET", "/metrics", tokens["operator"])
        assert status == 200
        found = samples(body.decode())
        posted = (("endpoint", "listings_api.ListingCollection"), ("method", "POST"), ("status", "201"))
        searched = (("endpoint", "listings_api.ListingCollection"), ("method", "GET"), ("status", "200"))
        assert found[("cpn_http_requests_total", posted)] == 8
        assert found[("cpn_http_requests_total", searched)] == 12
        assert found[("cpn_units_listed", (("resource_type", "gpu"),))] == 24
        assert found[("cpn_outbox_waiting", ())] == 8  # no parent reachable: every event waits
        with pytest.raises(urllib.error.HTTPError) as refused:
            call(node, "GET", "/metrics", tokens["seller"])
        assert refused.value.code == 403
    finally:
        stop_all([node])
