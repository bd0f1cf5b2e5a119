"""The requests of a route a service has finished handling, by status, from its own
request metric: after a client went away there is no answer to read, only this."""

from __future__ import annotations

from collections import Counter
from typing import Any


def handled(runtime: Any, method: str, route: str) -> Counter[str]:
    """Requests `method route` (the route's template) the service has finished, by status."""
    statuses: Counter[str] = Counter()
    for metric in runtime.metrics.http_request_duration.collect():
        for sample in metric.samples:
            labels = sample.labels
            if (
                sample.name.endswith("_count")
                and labels.get("method") == method
                and labels.get("route") == route
            ):
                statuses[labels["status"]] += int(sample.value)
    return statuses
