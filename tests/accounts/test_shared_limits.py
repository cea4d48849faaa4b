"""With RATELIMIT_STORAGE_URI=redis://..., a node's gunicorn workers count sign-in attempts together.

A real gunicorn with two sync workers (each request a new connection, handed to either worker) and
the Redis at 127.0.0.1:6379 that CI starts.
"""

import re
import secrets
import time
from dataclasses import dataclass

import httpx
import pytest

from ..live import LiveNode, stop_all

pytestmark = pytest.mark.e2e

REDIS = "redis://127.0.0.1:6379/0"


@dataclass
class RedisNode(LiveNode):
    """A node whose limits live in Redis, under a prefix of its own so runs never share counts."""

    prefix: str = ""

    @property
    def env(self) -> dict:
        return super().env | {"RATELIMIT_STORAGE_URI": REDIS, "RATELIMIT_KEY_PREFIX": self.prefix}


@pytest.fixture
def node(tmp_path):
    node = RedisNode("R44", "regional", tmp_path, prefix=f"test-{secrets.token_hex(6)}")
    node.prepare()
    node.flask_ok("users", "create", "li.na@example.cn", "--role", "buyer", "--password", "plum kettle orbit saffron")
    node.start()
    try:
        node.wait_healthy(time.monotonic() + 30)
        yield node
    finally:
        stop_all([node])


def test_eleven_wrong_passwords_across_two_workers_meet_one_limit(node):
    """The default limit is 10 a minute per address: the workers share the count, so the 11th is refused."""
    statuses = []
    with httpx.Client(base_url=node.url, timeout=10) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        for attempt in range(12):
            response = client.post("/login", data={"email": f"guess{attempt}@example.cn", "password": "wrong guess",
                                                   "csrf_token": token})  # fmt: skip
            statuses.append(response.status_code)
    assert statuses == [401] * 10 + [429] * 2, statuses
