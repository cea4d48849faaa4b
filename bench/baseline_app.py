"""The bare baseline of bench/search.py: the node's own search SQL on a plain DB-API connection, rows as JSON.

bench/search.py captures the exact statements (and parameters) that
`marketplace.listings.search.search_listings` sends for each scenario and hands
them over in the file named by BENCH_QUERIES. Each request runs its scenario's
statements in order (the page query, then the capped count query) and returns
the page's rows (a stored JSON `document` column embedded as it is) and the
count: no SQLAlchemy, no marshmallow, no flask-smorest, no session or pool
around the connection.

Environment: BENCH_QUERIES (JSON file), BENCH_BACKEND (postgresql | sqlite),
BENCH_DSN (a libpq URL, or the SQLite file's path).
"""

import json
import os
import sqlite3
from pathlib import Path

import orjson
from flask import Flask, Response, abort

QUERIES: dict = json.loads(Path(os.environ["BENCH_QUERIES"]).read_text())
BACKEND = os.environ["BENCH_BACKEND"]
DSN = os.environ["BENCH_DSN"]

app = Flask(__name__)
_connection = None  # one per worker process, opened on first use: after gunicorn has forked


def connection():
    """This worker's database connection, in autocommit mode."""
    global _connection
    if _connection is None:
        if BACKEND == "postgresql":
            import psycopg

            # The same session settings as the node's engine (marketplace/db.py), so the plans are the same.
            _connection = psycopg.connect(DSN, autocommit=True, options="-c plan_cache_mode=force_custom_plan")
        else:
            _connection = sqlite3.connect(DSN, isolation_level=None, check_same_thread=False, timeout=15)
            _connection.execute("PRAGMA journal_mode = WAL")
    return _connection


def _rows(sql: str, params) -> list[dict]:
    cursor = connection().execute(sql, params)
    names = [column[0] for column in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    if "document" in names:
        # A stored JSON document goes into the answer as it is, the way anyone would hand out stored JSON.
        for row in rows:
            row["document"] = orjson.Fragment(row["document"])
    return rows


def _json(data) -> Response:
    return Response(orjson.dumps(data), mimetype="application/json")


@app.get("/healthz")
def healthz():
    """Answer 200 while the database answers."""
    connection().execute("SELECT 1").fetchall()
    return _json({"status": "ok"})


@app.get("/q/<name>")
def query(name: str):
    """Run scenario `name`'s statements; answer the page's rows and the capped count."""
    scenario = QUERIES.get(name)
    if scenario is None:
        abort(404)
    per_page, answer = scenario["per_page"], {"items": [], "more": False, "total": None}
    # In the node's order: the page and its capped count, or (a text search) the count first, then the page.
    for statement in scenario["statements"]:
        rows = _rows(statement["sql"], statement["params"])
        if len(rows) == 1 and len(rows[0]) == 1 and next(iter(rows[0])).startswith("count"):  # a count
            answer["total"] = min(next(iter(rows[0].values())), scenario["count_cap"])
        else:
            answer["items"], answer["more"] = rows[:per_page], len(rows) > per_page
    return _json(answer)
