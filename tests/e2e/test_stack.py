"""The four services run as real processes against the real infrastructure."""

from __future__ import annotations

import httpx
import pytest

from shared.testing.processes import ServiceProcess
from tests.e2e.conftest import SERVICES

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.mark.parametrize("name", SERVICES)
async def test_service_is_ready_and_exposes_operations_endpoints(
    stack: dict[str, ServiceProcess], name: str
) -> None:
    service = stack[name]
    async with httpx.AsyncClient(base_url=service.url, timeout=5) as client:
        ready = await client.get("/readyz")
        health = await client.get("/healthz")
        openapi = await client.get("/openapi.json")
        metrics = await client.get("/metrics")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok", "store": "ok"}
    assert health.json() == {"status": "ok"}
    assert openapi.json()["info"]["title"] == f"dvc-{name}"
    # The readiness probes above were measured, under the service's own metric names.
    readyz = 'http_request_duration_seconds_count{method="GET",route="/readyz",status="200"}'
    assert f"{name}_{readyz}" in metrics.text
    assert f"{name}_outbox_backlog_events" in metrics.text
