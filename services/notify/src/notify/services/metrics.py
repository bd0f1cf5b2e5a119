"""notify's own metrics; labels are channels, template keys, outcomes: never addresses."""

from prometheus_client import Counter, Gauge, Histogram

DELIVERIES = Counter(
    "notify_deliveries_total",
    "Delivery attempts by outcome: sent, retried, failed (for good), dead (retries exhausted).",
    ["channel", "template", "outcome"],
)
SEND_SECONDS = Histogram(
    "notify_send_duration_seconds",
    "Time to hand one message to the SMTP server or SMS gateway.",
    ["channel"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
PROVIDER_ERRORS = Counter(
    "notify_provider_errors_total",
    "Errors from the SMTP server or SMS gateway.",
    ["channel", "kind"],
)
BY_STATUS = Gauge(
    "notify_deliveries_by_status",
    "Deliveries by status (pending, dead…), counted every few seconds by the sender.",
    ["status"],
)
