"""The Prometheus metrics every service has, named `<service>_<noun>_<unit>`.

Labels take values from small fixed sets (routes, event types, outcomes, queues); never
a dossier code, a person or a raw path.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from prometheus_client import Counter, Gauge, Histogram


@dataclass(frozen=True)
class ServiceMetrics:
    http_request_duration: Histogram
    outbox_backlog: Gauge
    outbox_oldest_pending_age: Gauge
    outbox_published: Counter
    outbox_publish_failures: Counter
    consumer_messages: Counter
    consumer_handler_duration: Histogram
    parked_messages: Gauge
    shed_requests: Counter


@cache
def metrics_for(service: str) -> ServiceMetrics:
    """The metrics of `service`, registered once per process."""
    return ServiceMetrics(
        http_request_duration=Histogram(
            f"{service}_http_request_duration_seconds",
            "HTTP request latency by route template.",
            ["method", "route", "status"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        ),
        outbox_backlog=Gauge(
            f"{service}_outbox_backlog_events", "Outbox rows committed but not yet published."
        ),
        outbox_oldest_pending_age=Gauge(
            f"{service}_outbox_oldest_pending_age_seconds",
            "Age of the oldest unpublished outbox row (0 when none).",
        ),
        outbox_published=Counter(
            f"{service}_outbox_published_events_total",
            "Events published with a broker confirm.",
            ["event_type"],
        ),
        outbox_publish_failures=Counter(
            f"{service}_outbox_publish_failures_total",
            "Publish attempts that got no confirm (kept and retried).",
            ["reason"],
        ),
        consumer_messages=Counter(
            f"{service}_consumer_messages_total",
            "Messages taken from the service's queue, by outcome: "
            "applied, duplicate, ignored, retried, parked.",
            ["event_type", "outcome"],
        ),
        consumer_handler_duration=Histogram(
            f"{service}_consumer_handler_duration_seconds",
            "Time to apply one event, transaction included.",
            ["event_type"],
        ),
        parked_messages=Gauge(
            f"{service}_parked_messages",
            "Messages waiting in the service's parking queue.",
        ),
        shed_requests=Counter(
            f"{service}_http_shed_requests_total",
            "Requests answered 503 at once instead of served, by what was saturated: "
            "in_flight (the process), database (no connection free in time) or store (the"
            " file store away).",
            ["reason"],
        ),
    )
