"""A live federation for end-to-end sync tests: real gunicorn nodes and real `flask sync run` workers.

National N0, regional R11 and R44, and industry IJ01 under R11 each run as a gunicorn on 127.0.0.1
with their own SQLite database and keys (tests/live.py), are registered and approved through
national's registry API, and each runs its sync worker as a subprocess with the node's environment.

Catalogues are compared by the snapshot digests of PROTOCOL.md §6, fetched over HTTP from
`GET /federation/v1/nodes/<origin>/snapshot` with a node token: the test process builds an app with
a registered node's configuration and keys (no database of its own) and calls the nodes with
`call_node`, as the node itself would.
"""

import os
import re
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx

from ..factories import gpu_payload
from ..live import ROOT, LiveNode

PASSWORD = "correct horse battery"
HTTP_TIMEOUT = 10.0


@dataclass
class SyncNode(LiveNode):
    """A live node that may have a parent other than national, and that can be stopped and started again."""

    parent_url: str = ""
    starts: int = 0

    @property
    def env(self) -> dict:
        return super().env | {"PARENT_URL": self.parent_url}

    @property
    def database(self) -> Path:
        return self.directory / f"{self.code}.sqlite3"

    def start(self) -> None:
        """Start gunicorn (2 workers); a restart keeps the same port, database and keys, and appends to the log."""
        self.starts += 1
        argv = [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{self.port}", "--no-control-socket",
                "--access-logfile", "-", "--error-logfile", "-", "app:app"]  # fmt: skip
        with self.log.open("a") as log:
            log.write(f"===== gunicorn start {self.starts} =====\n")
            log.flush()
            self.process = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)  # fmt: skip

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM to gunicorn, wait; SIGKILL its process group if it lingers."""
        self.terminate()
        self.wait_stopped(timeout)

    def rows(self, query: str, *params) -> list[tuple]:
        """Rows of a read-only query on this node's SQLite database (WAL: never blocks the node)."""
        connection = sqlite3.connect(self.database, timeout=10)
        try:
            return connection.execute(query, params).fetchall()
        finally:
            connection.close()

    def api(self, method: str, path: str, token: str | None = None, **kwargs) -> httpx.Response:
        """One HTTP call to this node."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.request(method, self.url + path, headers=headers, timeout=HTTP_TIMEOUT, **kwargs)


@dataclass
class SyncWorker:
    """`python -m flask --app app sync run --pull-interval 0.5` of one node, in a process group of its own."""

    node: SyncNode
    pull_interval: float = 0.5
    process: subprocess.Popen | None = None
    starts: int = 0

    @property
    def log(self) -> Path:
        return self.node.directory / f"{self.node.code}.sync.log"

    def start(self) -> None:
        """Start the worker; its output is appended to the node's sync log."""
        self.starts += 1
        interval = str(self.pull_interval)
        argv = [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "app",
            "sync",
            "run",
            "--pull-interval",
            interval,
            "--watch-interval",
            "2",
        ]
        with self.log.open("a") as log:
            log.write(f"===== sync worker start {self.starts} =====\n")
            log.flush()
            self.process = subprocess.Popen(argv, cwd=ROOT, env=self.node.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)  # fmt: skip

    def wait_running(self, timeout: float = 20) -> None:
        """Return once this start of the worker has said it runs (its app is built, its loop begins)."""
        deadline = time.monotonic() + timeout
        banner = f"sync worker of {self.node.code} running"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.node.code}'s sync worker exited with {self.process.returncode}:\n"
                                     f"{self.tail()}")  # fmt: skip
            if self.log.read_text(errors="replace").count(banner) >= self.starts:
                return
            time.sleep(0.02)
        raise AssertionError(f"{self.node.code}'s sync worker did not start in time:\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL, as a crash would: no clean-up runs."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 5) -> None:
        """SIGTERM (the worker ends after its current step); SIGKILL its process group if it lingers."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def tail(self, chars: int = 4_000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else "(no log)"


def application(node: SyncNode, jwks: dict) -> dict:
    """A valid application for a regional node (parent N0) or an industry node (parent R11)."""
    regional = node.role == "regional"
    entry = {
        "role": node.role,
        "requested_code": node.code,
        "parent": "N0" if regional else "R11",
        "construction_entity": {"name": f"{node.code} Computing Construction Co.",
                                "registered_capital_cny": 80_000_000},
        "operating_entity": {"name": f"{node.code} Computing Operations Co.", "telecom_licence": "B1-20231234"},
        "contact": {"name": "Chen Jing", "email": f"ops@{node.code.lower()}.example.cn", "phone": "+86 20 8888 0000"},
        "public_url": node.url,
        "jwks": jwks,
    }  # fmt: skip
    return entry | ({"province": node.code[1:]} if regional else {"industry": node.code[1]})


class LiveFederation:
    """The running nodes, their sync workers, the tokens the tests use, and the checks on catalogues."""

    def __init__(self, directory: Path):
        self.directory = directory
        national = SyncNode("N0", "national", directory)
        self.nodes: dict[str, SyncNode] = {"N0": national}
        for code in ("R11", "R44"):
            self.nodes[code] = SyncNode(code, "regional", directory, national_url=national.url)
        self.nodes["IJ01"] = SyncNode("IJ01", "industry", directory, national_url=national.url,
                                      parent_url=self.nodes["R11"].url)  # fmt: skip
        self.workers = {code: SyncWorker(node) for code, node in self.nodes.items()}
        self.sellers: dict[str, str] = {}  # node code -> a seller's API token there
        self.operators: dict[str, str] = {}  # node code -> an operator's API token there
        self.reviewers: dict[str, str] = {}  # role -> reviewer's API token at national
        self._callers: dict = {}

    def __getitem__(self, code: str) -> SyncNode:
        return self.nodes[code]

    @property
    def origins(self) -> list[str]:
        """Every node but national: where listings are published."""
        return [code for code in self.nodes if code != "N0"]

    # --- bringing it up and down ----------------------------------------------------------------

    def token(self, node: SyncNode, email: str, role: str) -> str:
        """Create an account at `node` with `flask users create` and an API token for it with `flask tokens create`."""
        node.flask_ok("users", "create", email, "--role", role, "--password", PASSWORD, "--name", f"{role} {node.code}",
                      "--org", f"{node.code} Computing Co.")  # fmt: skip
        return node.flask_ok("tokens", "create", email).strip().splitlines()[-1]

    def bring_up(self, node: SyncNode) -> None:
        """Migrate, make keys, start gunicorn, and create the accounts the tests use at this node."""
        node.prepare()
        node.start()
        code = node.code.lower()
        if node.role == "national":
            self.reviewers["national_reviewer"] = self.token(node, "reviewer@national.example.cn", "national_reviewer")
            self.reviewers["local_reviewer"] = self.token(node, "reviewer@local.example.cn", "local_reviewer")
            node.flask_ok("users", "scope", "reviewer@local.example.cn", "J")  # IJ01's industry: finance
            # Applying needs an account at national; nobody reviews their own application.
            self.reviewers["applicant"] = self.token(node, "applicant@national.example.cn", "buyer")
            return
        self.sellers[node.code] = self.token(node, f"seller@{code}.example.cn", "seller")
        if node.code == "R44":
            self.operators[node.code] = self.token(node, f"operator@{code}.example.cn", "operator")

    def register(self, node: SyncNode) -> None:
        """Apply for `node` at national with its published keys and approve it (initial and final for industry)."""
        national = self.nodes["N0"]
        applied = national.api("POST", "/registry/v1/applications", token=self.reviewers["applicant"],
                               json=application(node, node.get_json("/.well-known/jwks.json")))  # fmt: skip
        assert applied.status_code == 201, f"{applied.text}\n{self.logs()}"
        stages = ["initial", "final"] if node.role == "industry" else ["final"]
        for stage in stages:
            reviewer = self.reviewers["local_reviewer" if stage == "initial" else "national_reviewer"]
            reviewed = national.api("POST", f"/registry/v1/applications/{applied.json()['id']}/reviews",
                                    token=reviewer, json={"stage": stage, "decision": "approve",
                                                          "reason": "Licence and capital checked."})  # fmt: skip
            assert reviewed.status_code == 201, f"{node.code} {stage}: {reviewed.text}\n{self.logs()}"
        entry = national.get_json(f"/registry/v1/nodes/{node.code}")
        assert (entry["status"], entry["public_url"]) == ("active", node.url), entry

    def stop(self) -> None:
        """Stop every sync worker, then every gunicorn (SIGTERM, then SIGKILL of the process group)."""
        for worker in self.workers.values():
            worker.stop()
        for node in self.nodes.values():
            node.terminate()
        for node in self.nodes.values():
            node.wait_stopped()

    def logs(self) -> str:
        """The tail of every gunicorn's and every sync worker's log."""
        parts = []
        for code, node in self.nodes.items():
            parts.append(f"----- {code} gunicorn ({node.url}) -----\n{node.tail(4_000)}")
            parts.append(f"----- {code} sync worker -----\n{self.workers[code].tail()}")
        return "\n".join(parts)

    # --- listings through the API ----------------------------------------------------------------

    def publish(self, code: str, **changes) -> dict:
        """Publish a listing at node `code` as its seller, through POST /api/v1/listings; the stored document."""
        response = self.nodes[code].api("POST", "/api/v1/listings", token=self.sellers[code],
                                        json=gpu_payload(**changes))  # fmt: skip
        assert response.status_code == 201, response.text
        return response.json()

    def edit(self, code: str, listing_code: str, **changes) -> dict:
        """PATCH a listing at node `code` as its seller."""
        response = self.nodes[code].api("PATCH", f"/api/v1/listings/{listing_code}", token=self.sellers[code],
                                        json=changes)  # fmt: skip
        assert response.status_code == 200, response.text
        return response.json()

    def search(self, code: str, q: str) -> list[dict]:
        """The items of GET /api/v1/listings?q=... at node `code` (an unreachable node finds nothing)."""
        try:
            response = self.nodes[code].api("GET", "/api/v1/listings", params={"q": q})
        except httpx.HTTPError:
            return []
        assert response.status_code == 200, response.text
        return response.json()["items"]

    def sync_status(self, code: str) -> dict:
        """GET /federation/v1/sync/status at `code` with an operator's API token."""
        response = self.nodes[code].api("GET", "/federation/v1/sync/status", token=self.operators[code])
        assert response.status_code == 200, response.text
        return response.json()

    def lag(self, code: str) -> list[str]:
        """Problems with `code`'s sync status: events its parent has not acknowledged yet, or no answer."""
        try:
            up = self.sync_status(code)["up"]
        except httpx.HTTPError as error:
            return [f"{code}'s sync status did not answer: {error}"]
        return [] if up["lag_events"] == 0 else [f"{code} still has {up['lag_events']} events waiting"]

    def wait_first_pull(self, code: str, timeout: float = 30) -> None:
        """Return once `code`'s worker has read national's feed once (its feed cursor is stored)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.nodes[code].rows("SELECT 1 FROM sync_cursor WHERE stream = 'feed:N0'"):
                return
            time.sleep(0.1)
        raise AssertionError(f"{code}'s sync worker never pulled national's feed\n{self.logs()}")

    def wait_probed(self, timeout: float = 30) -> None:
        """Return once national's worker has probed every origin's /healthz (its first round at start)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            logs = [self.nodes[code].log.read_text(errors="replace") for code in self.origins]
            if all(re.search(r'"GET /healthz HTTP/1.1" 200 .*python-httpx', log) for log in logs):
                return
            time.sleep(0.1)
        raise AssertionError(f"national's sync worker never probed the origins\n{self.logs()}")

    # --- snapshots over HTTP, as a registered node -----------------------------------------------

    def _caller(self, code: str):
        """An app configured as node `code` (its keys, national's URL; an in-memory database it never uses)."""
        if code not in self._callers:
            from marketplace import create_app

            node = self.nodes[code]
            self._callers[code] = create_app({
                "DATABASE_URL": "sqlite://", "SECRET_KEY": f"caller-{code}", "NODE_CODE": code,
                "NODE_ROLE": node.role, "PUBLIC_URL": node.url, "NATIONAL_URL": self.nodes["N0"].url,
                "PARENT_URL": node.parent_url, "SIGNING_KEYS_FILE": str(self.directory / f"{code}.keys.json"),
                "FEDERATION_ALLOW_PRIVATE_ADDRESSES": True,
            })  # fmt: skip
        return self._callers[code]

    def snapshot(self, at: str, origin: str) -> dict:
        """Node `at`'s snapshot of `origin`'s listings: GET /federation/v1/nodes/<origin>/snapshot with a node token."""
        from marketplace.federation.client import call_node

        caller = "R11" if at != "R11" else "R44"
        with self._caller(caller).app_context():
            response = call_node("GET", f"{self.nodes[at].url}/federation/v1/nodes/{origin}/snapshot",
                                 audience=at, scope="listings:read")  # fmt: skip
        assert response.status_code == 200, f"{at}: {response.status_code} {response.text}"
        return response.json()

    def snapshots(self) -> dict[str, dict[str, dict]]:
        """origin -> {node: that node's snapshot of the origin's listings}, for every origin and node."""
        return {origin: {at: self.snapshot(at, origin) for at in self.nodes} for origin in self.origins}

    def differences(self) -> list[str]:
        """Where the catalogues differ: empty once every node holds exactly every origin's own catalogue.

        National's whole catalogue must be the union of the origins' catalogues: each origin's snapshot at
        national equals the origin's own, and national holds no listing of any other origin. A node that
        does not answer in time is a difference too (the caller polls again).
        """
        from marketplace.federation.client import TokenUnavailable
        from marketplace.federation.http import FetchRefused

        try:
            snapshots = self.snapshots()
        except (FetchRefused, TokenUnavailable, httpx.HTTPError) as error:
            return [f"a snapshot could not be fetched: {error}"]
        problems = []
        for origin, at in snapshots.items():
            problems += [f"{node}'s copy of {origin}" for node, copy in at.items()
                         if copy["digest"] != at[origin]["digest"]]  # fmt: skip
        own = sum(len(at[origin]["listings"]) for origin, at in snapshots.items())
        [(held,)] = self.nodes["N0"].rows("SELECT count(*) FROM listing")
        if held != own:
            problems.append(f"national holds {held} listings, the origins {own}")
        return problems

    def wait_converged(self, timeout: float, also=None) -> float:
        """Seconds until every catalogue converged (and `also()` holds); fail with the differences and the logs."""
        started = time.monotonic()
        deadline, problems = started + timeout, ["not checked"]
        while time.monotonic() < deadline:
            problems = self.differences()
            if also is not None and not problems:
                problems = also()
            if not problems:
                return time.monotonic() - started
            time.sleep(0.25)
        raise AssertionError(f"no convergence in {timeout} s: {problems}\n{self.logs()}")

    def events_applied_once(self, origin: str) -> tuple[int, list[str]]:
        """(events of `origin`, problems): each of its outbox events is in national's feed exactly once."""
        sent = Counter(self.nodes[origin].rows("SELECT listing_code, version FROM outbox_event"))
        fed = Counter(self.nodes["N0"].rows(
            "SELECT listing_code, version FROM catalogue_change WHERE origin = ?", origin))  # fmt: skip
        problems = [f"{code} v{version} is {n} times in national's feed" for (code, version), n in fed.items() if n > 1]
        problems += [f"{code} v{version} never reached national's feed" for code, version in sent.keys() - fed.keys()]
        problems += [f"{code} v{version} is in national's feed but not in {origin}'s outbox"
                     for code, version in fed.keys() - sent.keys()]  # fmt: skip
        if sum(fed.values()) != sum(sent.values()):
            problems.append(f"{origin}'s outbox has {sum(sent.values())} events, national's feed {sum(fed.values())}")
        return sum(sent.values()), problems


def unique_word() -> str:
    """A word no other listing has, to search for."""
    return f"kestrel{secrets.token_hex(4)}"
