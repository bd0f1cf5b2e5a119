"""`/healthz` (the process is alive), `/readyz` (its dependencies answer), `/metrics`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

Check = Callable[[], Awaitable[None]]
CHECK_TIMEOUT = 3.0


class HealthRead(BaseModel):
    status: Literal["ok"]


class ReadinessRead(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, str] = Field(description="`ok`, or `failing: <why>`, per dependency.")


# A report, not a problem: an orchestrator reads the status, an operator the checks.
_NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {"description": "A dependency does not answer.", "model": ReadinessRead}
}
_PROMETHEUS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Prometheus text format.",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}


def health_router(checks: Mapping[str, Check]) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", response_model=HealthRead)
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @router.get("/readyz", response_model=ReadinessRead, responses=_NOT_READY)
    async def readyz() -> JSONResponse:
        """Every dependency answers within a few seconds (database, broker, store)."""

        async def run(check: Check) -> str:
            try:
                await asyncio.wait_for(check(), CHECK_TIMEOUT)
            except Exception as exc:
                return f"failing: {type(exc).__name__}"
            return "ok"

        results = await asyncio.gather(*(run(c) for c in checks.values()))
        report = dict(zip(checks, results, strict=True))
        ready = all(r == "ok" for r in results)
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": report},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics", response_class=Response, responses=_PROMETHEUS)
    async def metrics() -> Response:
        """Prometheus text format."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
