"""DATABASE_READ_URL: searches, the search page, the change feed and snapshots read a real streaming replica.

The test makes a PostgreSQL primary and a replica of its own (initdb in temporary directories, a replication
line in pg_hba.conf, pg_basebackup, each server on its own port), so no other database's data is copied.
It pauses the replica's replay to tell the two apart: what a search shows then is what the replica holds.
"""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from marketplace.config import normalize_database_url

from .conftest import migrated_app
from .factories import bearer, gpu_payload, make_user

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="replication needs PostgreSQL")

API = "/api/v1/listings"


def _bindir() -> Path:
    """Where this machine's PostgreSQL server programs are (initdb, pg_ctl, pg_basebackup)."""
    if shutil.which("pg_config"):
        found = Path(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip())
        if (found / "initdb").exists():
            return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    assert candidates, "PostgreSQL's server programs (initdb, pg_basebackup) are needed for this test"
    return Path(candidates[-1]).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """One PostgreSQL server in a directory of its own, run as the postgres user when we are root."""

    def __init__(self, base: Path, name: str, bindir: Path):
        self.data, self.port, self.bindir, self.base = base / name, _free_port(), bindir, base
        self.log = base / f"{name}.log"
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.base}"
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def sql(self, statement: str):
        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(statement).fetchall() if statement.lstrip().upper().startswith("SELECT") else None


@pytest.fixture(scope="module")
def replicated():
    """(primary, replica): a fresh primary and a streaming replica of it made by pg_basebackup."""
    base = Path(tempfile.mkdtemp(prefix="cpn-replica-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    bindir = _bindir()
    primary, replica = Cluster(base, "primary", bindir), Cluster(base, "replica", bindir)
    try:
        primary.run("initdb", "-D", str(primary.data), "-U", "postgres", "--auth=trust")
        with (primary.data / "pg_hba.conf").open("a") as hba:
            hba.write("host replication postgres 127.0.0.1/32 trust\n")
        primary.start()
        primary.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
                    "-D", str(replica.data), "-R", "-X", "stream")  # fmt: skip
        replica.start()
        yield primary, replica
    finally:
        replica.stop()
        primary.stop()
        shutil.rmtree(base, ignore_errors=True)


def _caught_up(primary: Cluster, replica: Cluster, timeout: float = 30) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    target = primary.sql("SELECT pg_current_wal_lsn()::text")[0][0]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if replica.sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")[0][0]:
            return
        time.sleep(0.05)
    raise AssertionError(f"the replica did not replay up to {target} within {timeout} s")


def _search(client, q: str) -> list[str]:
    response = client.get(API, query_string={"q": q})
    assert response.status_code == 200, response.get_json()
    return [item["title"] for item in response.get_json()["items"]]


def test_searches_read_the_replica_and_everything_else_the_primary(replicated):
    primary, replica = replicated
    app = migrated_app(normalize_database_url(primary.url), schema="public", NODE_CODE="R44",
                       NODE_ROLE="regional", DATABASE_READ_URL=normalize_database_url(replica.url))  # fmt: skip
    client = app.test_client()
    try:
        with app.app_context(), app.extensions["db"].session() as session:
            seller = make_user(session, role="seller", name="Zhou Min", organization="Replica Computing Co.")
            headers = bearer(session, seller)
            session.commit()
        published = client.post(API, json=gpu_payload(title="Streamed H100 pod"), headers=headers)
        assert published.status_code == 201, published.get_json()  # a write: the replica would refuse it
        _caught_up(primary, replica)
        assert _search(client, "streamed") == ["Streamed H100 pod"]

        replica.sql("SELECT pg_wal_replay_pause()")  # the replica falls behind, as under load
        try:
            later = client.post(API, json=gpu_payload(title="Lagging A800 pod", gpu_model="A800"), headers=headers)
            assert later.status_code == 201
            code = later.get_json()["code"]
            # The seller reads their own write from the primary at once...
            assert client.get(f"{API}/{code}").get_json()["title"] == "Lagging A800 pod"
            # ...while search and the search page see the replica's catalogue, a moment behind.
            assert _search(client, "lagging") == []
            page = client.get("/listings", query_string={"q": "lagging"})
            assert page.status_code == 200 and "Lagging A800 pod" not in page.get_data(as_text=True)
            assert _search(client, "streamed") == ["Streamed H100 pod"]
        finally:
            replica.sql("SELECT pg_wal_replay_resume()")
        _caught_up(primary, replica)
        assert _search(client, "lagging") == ["Lagging A800 pod"]
        page = client.get("/listings", query_string={"q": "lagging"})
        assert "Lagging A800 pod" in page.get_data(as_text=True)
    finally:
        database = app.extensions["db"]
        database.engine.dispose()
        database.read_engine.dispose()


def test_without_a_read_url_every_request_uses_the_primary(replicated):
    primary, _replica = replicated
    app = migrated_app(normalize_database_url(primary.url), schema="public", NODE_CODE="R44", NODE_ROLE="regional")
    try:
        assert app.extensions["db"].read_engine is None
        assert app.test_client().get(API).status_code == 200
    finally:
        app.extensions["db"].engine.dispose()


def test_exactly_the_read_only_views_may_use_the_replica(app):
    marked = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if getattr(getattr(view, "view_class", None), "get", view).__dict__.get("replica_read"):
            marked.add(rule.rule)
    assert marked == {"/api/v1/listings", "/listings", "/federation/v1/changes", "/federation/v1/nodes/<code>/snapshot"}
