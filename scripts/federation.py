"""Run the whole federation on 127.0.0.1: national N0, regional R11 and R44, industry IJ01 under R11.

Each node is its own gunicorn with its own SQLite database and keys under instance/federation/;
the regional and industry nodes apply, are reviewed and approved through national's registry,
publish demo catalogues of their own (R11 in Beijing, R44 in Guangdong, IJ01 for finance), and run a
sync worker; national runs one too, which probes every origin each minute and marks the listings
of an origin unreachable for STALE_AFTER seconds (default 300 here) stale. Ctrl-C stops everything.
"""

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOME = ROOT / "instance" / "federation"
PYTHON = sys.executable
DEMO_LISTINGS = int(os.environ.get("DEMO_LISTINGS", "60"))
STALE_AFTER = os.environ.get("STALE_AFTER", "300")  # short, so that stopping a node shows within minutes


@dataclass
class Node:
    code: str
    role: str
    port: int
    parent: str | None = None
    province: str | None = None
    industry: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, national_url: str, parent_url: str) -> dict:
        secret_file = HOME / f"{self.code}.secret"
        if not secret_file.exists():
            secret_file.write_text(secrets.token_hex(32))
            secret_file.chmod(0o600)
        # Counts in a shared Redis belong to this federation's run: a fresh instance/federation starts from zero.
        prefix = {"RATELIMIT_KEY_PREFIX": f"cpn-demo-{password('run-id')[:8]}-{self.code.lower()}"}
        return os.environ | RATE_LIMITS | prefix | {
            "DATABASE_URL": f"sqlite:///{HOME / f'{self.code}.sqlite3'}", "SECRET_KEY": secret_file.read_text(),
            "NODE_CODE": self.code, "NODE_ROLE": self.role, "PUBLIC_URL": self.url, "NATIONAL_URL": national_url,
            "PARENT_URL": parent_url, "SIGNING_KEYS_FILE": str(HOME / f"{self.code}.keys.json"),
            "FEDERATION_ALLOW_PRIVATE_ADDRESSES": "1", "ACCESS_LOG": str(HOME / f"{self.code}.access.log"),
            "SYNC_STALE_AFTER": STALE_AFTER,
            # A made-up account: the demo's buyers see where a bank transfer would go.
            "INVOICE_ACCOUNT": f"示范银行 · 户名：{self.code} 节点运营方 · 账号：6200 0000 0000 {self.code[-2:]}00",
        }  # fmt: skip


def redis_answers(host: str = "127.0.0.1", port: int = 6379) -> bool:
    """Whether a Redis server answers PING at host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def rate_limit_storage() -> dict:
    """Share sign-in and application counts between each node's workers through Redis when one answers."""
    if "RATELIMIT_STORAGE_URI" in os.environ:
        return {}
    if redis_answers():
        return {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}  # each node counts under its own prefix
    print("warning: no Redis answers at 127.0.0.1:6379; each worker counts sign-in attempts in its own memory, "
          "so the limits are per worker (start redis-server to share them)", file=sys.stderr)  # fmt: skip
    return {}


def password(name: str) -> str:
    """A generated password kept in instance/federation/ (owner-only), the same on every run."""
    path = HOME / f"{name}.password"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(12))
    return path.read_text().strip()


RATE_LIMITS: dict = {}
NATIONAL = Node("N0", "national", int(os.environ.get("PORT", "5000")))
NODES = [
    NATIONAL,
    Node("R11", "regional", NATIONAL.port + 11, parent="N0", province="11"),
    Node("R44", "regional", NATIONAL.port + 44, parent="N0", province="44"),
    Node("IJ01", "industry", NATIONAL.port + 101, parent="R11", industry="J"),
]
BY_CODE = {node.code: node for node in NODES}
processes: list[subprocess.Popen] = []


def env_of(node: Node) -> dict:
    parent = BY_CODE[node.parent].url if node.parent else NATIONAL.url
    return node.env(NATIONAL.url, parent)


def flask(node: Node, *args: str) -> str:
    done = subprocess.run([PYTHON, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env_of(node),
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{node.code}: flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def start(node: Node, *argv: str, log: str) -> None:
    with (HOME / log).open("a") as out:
        processes.append(subprocess.Popen(argv, cwd=ROOT, env=env_of(node), stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True))  # fmt: skip


def http(method: str, url: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def wait_healthy(node: Node, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if http("GET", node.url + "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{node.code} did not start; see {HOME / (node.code + '.log')}")


def account(node: Node, email: str, role: str, name: str, org: str = "") -> None:
    """Create an account unless it exists (a second run keeps the first's)."""
    done = subprocess.run([PYTHON, "-m", "flask", "--app", "app", "users", "create", email, "--role", role,
                           "--password", password(node.code), "--name", name, "--org", org], cwd=ROOT,
                          env=env_of(node), capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0 and "exists already" not in done.stderr + done.stdout:
        raise SystemExit(f"N0: could not create {email}:\n{done.stdout}{done.stderr}")


def demo_data(node: Node) -> None:
    """Load the node's demo catalogue and keep the password it prints (a second run keeps the first's)."""
    output = flask(node, "demo-data", "--count", str(DEMO_LISTINGS))
    for line in output.splitlines():
        if line.startswith("demo password (shown once): "):
            path = HOME / f"{node.code}.demo.password"
            path.write_text(line.rsplit(" ", 1)[1])
            path.chmod(0o600)


def register(node: Node, reviewers: dict[str, str]) -> None:
    """Apply for `node` at national and have it reviewed, unless it is in the directory already."""
    if http("GET", f"{NATIONAL.url}/registry/v1/nodes/{node.code}")[0] == 200:
        return
    _, jwks = http("GET", node.url + "/.well-known/jwks.json")
    application = {
        "role": node.role, "requested_code": node.code, "province": node.province, "industry": node.industry,
        "parent": node.parent,
        "construction_entity": {"name": f"{node.code} Computing Infrastructure Co.",
                                "registered_capital_cny": 80_000_000},
        "operating_entity": {"name": f"{node.code} Computing Network Operations Co.",
                             "telecom_licence": "B1-20231234"},
        "contact": {"name": "Node Operator", "email": f"ops@{node.code.lower()}.example.cn",
                    "phone": "+86 10 8888 0000"},
        "public_url": node.url, "jwks": jwks,
    }  # fmt: skip
    status, submitted = http("POST", f"{NATIONAL.url}/registry/v1/applications", application,
                             token=reviewers["applicant"])  # fmt: skip
    if status != 201:
        raise SystemExit(f"{node.code}: application refused: {submitted}")
    stages = ["initial", "final"] if node.role == "industry" else ["final"]
    for stage in stages:
        reviewer = reviewers["local_reviewer" if stage == "initial" else "national_reviewer"]
        review = {"stage": stage, "decision": "approve", "reason": "Meets the notice; demo federation."}
        url = f"{NATIONAL.url}/registry/v1/applications/{submitted['id']}/reviews"
        status, answer = http("POST", url, review, token=reviewer)
        if status != 201:
            raise SystemExit(f"{node.code}: {stage} review refused: {answer}")


def main() -> None:
    HOME.mkdir(parents=True, exist_ok=True)
    RATE_LIMITS.update(rate_limit_storage())
    for node in NODES:
        flask(node, "db", "upgrade")
        flask(node, "keys", "init", "--if-missing")
        start(node, PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{node.port}",
              "--workers", "2", "app:app", log=f"{node.code}.log")  # fmt: skip
    for node in NODES:
        wait_healthy(node)
    account(NATIONAL, "reviewer@national.example.cn", "national_reviewer", "National Reviewer")
    account(NATIONAL, "reviewer@local.example.cn", "local_reviewer", "Local Reviewer")
    flask(NATIONAL, "users", "scope", "reviewer@local.example.cn", "J")  # reviews finance, IJ01's industry
    account(NATIONAL, "operator@national.example.cn", "operator", "National Operator")
    account(NATIONAL, "person@national.example.cn", "buyer", "Li Na", "Hangzhou AI Lab")
    # Applying needs an account at national; the nodes' operators apply with theirs.
    account(NATIONAL, "applicant@national.example.cn", "buyer", "Node Applicant", "Demo Node Operators")
    reviewers = {role: flask(NATIONAL, "tokens", "create", email).strip().splitlines()[-1]
                 for role, email in (("national_reviewer", "reviewer@national.example.cn"),
                                     ("local_reviewer", "reviewer@local.example.cn"),
                                     ("applicant", "applicant@national.example.cn"))}  # fmt: skip
    # National's worker puts its own listings into its feed and probes the origins (stale marking).
    start(NATIONAL, PYTHON, "-m", "flask", "--app", "app", "sync", "run", log=f"{NATIONAL.code}.sync.log")
    for node in NODES[1:]:
        register(node, reviewers)
        demo_data(node)
        start(node, PYTHON, "-m", "flask", "--app", "app", "sync", "run", log=f"{node.code}.sync.log")
    wait_synced()
    print_summary(flask(NATIONAL, "tokens", "create", "operator@national.example.cn").strip().splitlines()[-1])


def wait_synced(seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        totals = [http("GET", f"{NATIONAL.url}/api/v1/listings?origin={n.code}&per_page=1")[1].get("total", 0)
                  for n in NODES[1:]]  # fmt: skip
        if all(totals):
            return
        time.sleep(0.5)
    print("warning: national's catalogue is still filling; the sync workers keep going")


def print_summary(operator_token: str) -> None:
    print("\nThe federation runs on 127.0.0.1 (Ctrl-C stops it):\n")
    for node in NODES:
        print(f"  {node.code:5} {node.role:9} {node.url}")
    print(f"\nSign-ins at N0 (password {password('N0')!r}, generated into {HOME}/N0.password):")
    print("  national reviewer   reviewer@national.example.cn   review queue, node tree")
    print("  local reviewer      reviewer@local.example.cn      initial reviews of finance (J) industry nodes")
    print("  national operator   operator@national.example.cn   overview, suspensions, sync status")
    print("  applicant           applicant@national.example.cn  applied for R11, R44 and IJ01")
    print("  a person            person@national.example.cn     at any node: 'Sign in with the national identity'")
    print("\nDemo sellers, buyer and operator at each node: seller1@demo.cpn.example, buyer@demo.cpn.example,")
    print("operator@demo.cpn.example, with the node's demo password:")
    for node in NODES[1:]:
        path = HOME / f"{node.code}.demo.password"
        print(f"  {node.code:5} {path.read_text().strip() if path.exists() else '(see ' + str(path) + ')'}")
    print("\nEach node has a catalogue of its own: R11 sells in Beijing, R44 in Guangdong, IJ01 to finance;")
    print("every search at every node finds each offer once.")
    print("National's sync worker probes every origin each minute; stop one (e.g. R44's gunicorn) and after")
    print(f"{STALE_AFTER} s its listings are marked stale and leave search. Every origin's state, as national sees it:")
    print(f"  curl -H 'Authorization: Bearer {operator_token}' {NATIONAL.url}/federation/v1/sync/status")
    print(f"  {NATIONAL.url}/federation (public) and /operations at each node (its operator)")
    print(f"\nLogs and databases: {HOME}\n")


def stop(*_args) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    raise SystemExit(0)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        main()
    except SystemExit as failure:
        if failure.code:
            print(failure.code, file=sys.stderr)
            stop()
        raise
    while True:
        time.sleep(3600)
