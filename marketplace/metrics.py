"""The node's Prometheus metrics: defined once here, counted where things happen, served by monitoring/.

Under gunicorn, `PROMETHEUS_MULTIPROC_DIR` (set by gunicorn.conf.py) makes every worker write its
samples to files that the /metrics view adds up (prometheus_client's multiprocess mode). Figures that
live in the database (outbox, lag, listings, orders) are read from it when /metrics is asked.
"""

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter("cpn_http_requests", "HTTP requests answered", ["endpoint", "method", "status"])
HTTP_SECONDS = Histogram(
    "cpn_http_request_seconds", "Time to answer a request", ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)  # fmt: skip
TOKENS_ISSUED = Counter("cpn_tokens_issued", "Access tokens national issued", ["grant"])
TOKENS_REFUSED = Counter("cpn_tokens_refused", "Access tokens a node refused", ["error"])
EVENTS_SENT = Counter("cpn_sync_events_sent", "Events sent to the parent", ["stream"])
EVENTS_ACKED = Counter("cpn_sync_events_acked", "Events the parent acknowledged", ["stream"])
EVENTS_RECEIVED = Counter("cpn_sync_events_received", "Events received, by what became of them", ["via", "status"])
EVENTS_REJECTED = Counter("cpn_sync_events_rejected", "Events rejected, by reason", ["reason"])
REFUSALS = Counter(
    "cpn_refusals", "Requests refused by a domain rule, by endpoint and reason (orders' too)", ["endpoint", "reason"]
)
WEBHOOK_EVENTS = Counter("cpn_webhook_events", "Payment provider webhook events, by type", ["type"])
