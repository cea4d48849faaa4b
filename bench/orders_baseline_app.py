"""The bare ceiling of bench/orders.py: the same lock + overlap check + insert, on a plain psycopg connection.

`POST /orders` with `{"listing_code", "units", "start", "end"}`: lock the listing's row, read the live
orders overlapping the window, refuse (409) if the units are not free at some instant, else insert the
order and answer 201. No accounts, tokens, codes, events, capacity documents, outbox or schemas.

Environment: BENCH_DSN (a libpq URL).
"""

import os
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
from flask import Flask, Response, request

DSN = os.environ["BENCH_DSN"]
app = Flask(__name__)
_connection = None  # one per worker process, opened after gunicorn has forked


def connection():
    global _connection
    if _connection is None:
        _connection = psycopg.connect(DSN, options="-c plan_cache_mode=force_custom_plan")
    return _connection


def peak(spans, start, end) -> int:
    """The most units taken at any instant of [start, end): the maximum is reached at some order's start."""
    points = [start] + [s for s, _e, _u in spans if start < s < end]
    return max((sum(u for s, e, u in spans if s <= p < e) for p in points), default=0)


@app.get("/healthz")
def healthz():
    connection().execute("SELECT 1").fetchall()
    connection().rollback()
    return Response(b'{"status":"ok"}', mimetype="application/json")


@app.post("/orders")
def order():
    body = orjson.loads(request.get_data())
    start, end = datetime.fromisoformat(body["start"]), datetime.fromisoformat(body["end"])
    units, now = int(body["units"]), datetime.now(UTC)
    conn = connection()
    with conn.transaction():
        listing = conn.execute(
            "SELECT id, code, quantity, unit_price, gpu_count FROM listing WHERE code = %s FOR UPDATE",
            (body["listing_code"],),
        ).fetchone()
        spans = conn.execute(
            'SELECT starts_at, ends_at, units FROM "order" WHERE listing_id = %s AND starts_at < %s AND ends_at > %s '
            "AND (status = 'confirmed' OR (status = 'held' AND hold_expires_at > %s))",
            (listing[0], end, start, now),
        ).fetchall()
        if peak(spans, start, end) + units > listing[2]:
            return Response(b'{"reason":"capacity_short"}', status=409, mimetype="application/json")
        hours = int((end - start).total_seconds()) // 3600
        conn.execute(
            'INSERT INTO "order" (code, listing_id, listing_code, origin, buyer_id, buyer_name, buyer_org, buyer_node, '
            "status, units, starts_at, ends_at, total, currency, lines, hold_expires_at, payment_provider, "
            "payment_status, created_at, updated_at) VALUES (%s, %s, %s, 'R44', 1, 'Bench', '', 'R44', 'held', %s, "
            "%s, %s, %s, 'cny', '[]', %s, 'invoice', 'awaiting', %s, %s)",
            (uuid.uuid4().hex[:20], listing[0], listing[1], units, start, end,
             listing[3] * units * (listing[4] or 1) * hours, now + timedelta(hours=1), now, now),
        )  # fmt: skip
    return Response(b'{"status":"held"}', status=201, mimetype="application/json")
