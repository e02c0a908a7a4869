"""Prometheus metrics of the service, defined once here and updated wherever the event happens.

Labels stay bounded on purpose: operations are named by their root fields (from the schema, never the
client's free-text operationName), HTTP requests by route template, never by raw path or caller. With
several uvicorn workers `karngar serve` sets PROMETHEUS_MULTIPROC_DIR before any worker imports this
module, so every worker writes its samples there and /metrics sums them (api/observability.py).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "karngar_graphql_requests_total", "GraphQL requests by operation name and outcome.", ["operation", "outcome"]
)
LATENCY = Histogram(
    "karngar_graphql_request_duration_seconds",
    "GraphQL request latency by operation name.",
    ["operation"],
    buckets=BUCKETS,
)
HTTP_REQUESTS = Counter(
    "karngar_http_requests_total", "HTTP requests by method, route and status code.", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "karngar_http_request_duration_seconds", "HTTP request latency by route.", ["route"], buckets=BUCKETS
)
RATE_LIMITED = Counter("karngar_rate_limited_total", "Requests refused by the rate limit, by key kind.", ["kind"])
PLACEMENTS = Counter("karngar_placements_recorded_total", "Hires recorded (formal placements) by sector.", ["sector"])
# "livesum": in multiprocess mode, the sum over the workers that are alive.
DB_POOL_IN_USE = Gauge(
    "karngar_db_pool_connections_in_use",
    "Database connections checked out of the pool.",
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge("karngar_db_pool_size", "Database connections the pool may hold.", multiprocess_mode="livesum")
