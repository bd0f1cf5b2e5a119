"""One correlation id from the HTTP request, through the outbox and the broker, to the
consumer's handler and its log lines; request latency measured by route template."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from prometheus_client import REGISTRY

from shared.api.middleware import RequestMiddleware
from shared.api.problems import install_problem_handlers
from shared.observability.context import correlation
from shared.observability.logging import JsonFormatter
from shared.testing.infra import eventually
from shared.testing.probe import Probe, widgets

pytestmark = pytest.mark.integration


def widget_app(probe: Probe) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(RequestMiddleware, metrics=probe.metrics)
    api, widgets_router = APIRouter(prefix="/api/v1"), APIRouter()

    @widgets_router.post("/widgets/{widget_id}")
    async def create(widget_id: int) -> dict[str, str]:
        async with probe.db.transaction() as session:
            await session.execute(widgets.insert().values(id=widget_id, name="w"))
            envelope = await probe.emit(session, f"widget {widget_id}")
        return {"event_id": str(envelope.id), "correlation_id": envelope.correlation_id or ""}

    api.include_router(widgets_router)
    app.include_router(api)
    return app


async def test_correlation_id_follows_the_request_into_the_event_and_its_handler(
    probe: Probe,
) -> None:
    await probe.consumer.start()
    stop = asyncio.Event()
    relay = asyncio.create_task(probe.relay.run(stop))
    transport = httpx.ASGITransport(widget_app(probe))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            given = await client.post(
                "/api/v1/widgets/7", headers={"X-Correlation-ID": "c0ffee-42"}
            )
            made = await client.post("/api/v1/widgets/8")
        assert given.headers["x-correlation-id"] == "c0ffee-42"
        assert given.json()["correlation_id"] == "c0ffee-42"
        minted = made.headers["x-correlation-id"]
        assert minted
        assert made.json()["correlation_id"] == minted
        await eventually(lambda: _count(probe, 2), what="both events handled")
    finally:
        stop.set()
        await relay
    assert Counter(probe.correlations) == Counter(["c0ffee-42", minted])

    # Latency is labelled by the full route template (prefixes of nested routers included),
    # never by the raw path.
    labels = {"method": "POST", "route": "/api/v1/widgets/{widget_id}", "status": "200"}
    name = f"{probe.service}_http_request_duration_seconds_count"
    assert REGISTRY.get_sample_value(name, labels) == 2


async def _count(probe: Probe, n: int) -> bool:
    return len(probe.correlations) >= n


def test_json_log_lines_carry_service_and_correlation_id() -> None:
    formatter = JsonFormatter("intake")
    record = logging.makeLogRecord({"msg": "dossier submitted", "levelno": 20, "levelname": "INFO"})
    record.event_type = "dossier.submitted"
    with correlation("abc-123"):
        line = json.loads(formatter.format(record))
    assert line["service"] == "intake"
    assert line["correlation_id"] == "abc-123"
    assert line["event_type"] == "dossier.submitted"
    assert line["msg"] == "dossier submitted"
