"""Per request: take or make the correlation id, time the request by its route template,
log one line. Pure ASGI so that streamed uploads are not buffered."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.observability.context import correlation
from shared.observability.metrics import ServiceMetrics

log = logging.getLogger("http")

CORRELATION_HEADER = b"x-correlation-id"


class RequestMiddleware:
    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics
        # The histogram's child of each (method, route, status), looked up once: `labels()`
        # checks and joins the values under a lock on every call.
        self._durations: dict[tuple[str, str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(CORRELATION_HEADER)
        # Only a well-formed id is taken over, so nothing a client sends lands in logs.
        given = incoming.decode("latin-1") if incoming and _is_token(incoming) else None
        status = 500
        started = time.perf_counter()
        with correlation(given) as cid:

            async def send_with_id(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    message.setdefault("headers", []).append(
                        (CORRELATION_HEADER, cid.encode("latin-1"))
                    )
                await send(message)

            try:
                await self.app(scope, receive, send_with_id)
            finally:
                elapsed = time.perf_counter() - started
                template = _route_template(scope)
                labels = (scope["method"], template, status)
                duration = self._durations.get(labels)
                if duration is None:
                    duration = self._durations[labels] = self.metrics.http_request_duration.labels(
                        scope["method"], template, str(status)
                    )
                duration.observe(elapsed)
                if template not in {"/metrics", "/healthz", "/readyz"}:
                    log.info(
                        "request",
                        extra={
                            "method": scope["method"],
                            "route": template,
                            "status": status,
                            "ms": round(elapsed * 1000, 1),
                        },
                    )


def _route_template(scope: Scope) -> str:
    """The matched route as declared, with its routers' prefixes: `/api/v1/dossiers/{code}`.

    FastAPI puts the inner route in `scope["route"]` (without the prefixes of the routers
    that include it) and the effective, prefixed one in its own scope entry.
    """
    effective = (scope.get("fastapi") or {}).get("effective_route_context")
    path = getattr(effective, "path", None) or getattr(scope.get("route"), "path", None)
    return str(path) if path else "unmatched"


def _is_token(value: bytes) -> bool:
    return 0 < len(value) <= 64 and all(c in b"0123456789abcdefABCDEF-" for c in value)
