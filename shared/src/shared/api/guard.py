"""What every request must pass before a route sees it: a bounded number in flight,
bounded bodies, and no text a database cannot store.

Pure ASGI, in front of the application:
- **Load shedding.** At most `max_in_flight` requests are served at once by the process;
  one more is answered 503 with `Retry-After` at once, instead of queueing until every
  caller times out. Health and metrics are never shed: an orchestrator must see the
  process alive while it sheds.
- **Bodies before parsing.** A body declared (Content-Length) or found (while it arrives)
  larger than `max_body` is answered 413 before it is buffered. multipart/form-data is left
  to the use case, which streams it with its own limits (files are larger than 1 MiB).
- **Text a database refuses.** NUL characters (PostgreSQL text cannot hold them) and
  unpaired surrogates (not encodable as UTF-8) in the path, the query, a JSON or form body,
  JSON nested deeper than `max_depth` (recursive validators would overflow the stack) and
  strings longer than `max_string` are answered 422 naming the field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.api.problems import problem
from shared.observability.metrics import ServiceMetrics
from shared.text import json_problems, text_problem

# Set in a request's scope by `shared.api.uploads` when a use case streams its multipart
# body: the use case bounds it, not the guard.
STREAMED = "dvc.streamed"
# Never shed: liveness, readiness and metrics must answer while the process is saturated.
UNSHED = frozenset({"/healthz", "/readyz", "/metrics"})


@dataclass(frozen=True)
class Limits:
    max_in_flight: int = 16
    max_body: int = 1024 * 1024
    max_depth: int = 32
    max_string: int = 100_000
    retry_after: int = 1


class RequestGuard:
    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, limits: Limits) -> None:
        self.app = app
        self.metrics = metrics
        self.limits = limits
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNSHED:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limits.max_in_flight:
            self.metrics.shed_requests.labels("in_flight").inc()
            await self._answer(
                send, 503, "Hệ thống đang quá tải, vui lòng thử lại sau ít giây.",
                headers={"Retry-After": str(self.limits.retry_after)},
            )  # fmt: skip
            return
        self.in_flight += 1
        try:
            await self._guarded(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        errors = list(self._url_problems(scope))
        if errors:
            await self._invalid(send, errors)
            return
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        declared = headers.get(b"content-length", b"")
        if content_type == b"multipart/form-data":
            limit = int(declared) if declared.isdigit() else 0
            await self.app(scope, self._unless_streamed(scope, receive, limit), send)
            return
        if declared.isdigit() and int(declared) > self.limits.max_body:
            await self._too_large(send)
            return
        body, more = await self._read(receive)
        if body is None:
            await self._too_large(send)
            return
        errors = list(self._body_problems(content_type, body))
        if errors:
            await self._invalid(send, errors)
            return
        await self.app(scope, _replay(body, more, receive), send)

    def _unless_streamed(self, scope: Scope, receive: Receive, declared: int) -> Receive:
        """`receive`, bounded by `max_body` unless a use case streams the body (it has its
        own limits): a multipart body sent to a route that buffers it is refused like a
        large JSON one, at once when its declared length already says so."""
        size = declared

        async def bounded() -> Message:
            nonlocal size
            if scope.get(STREAMED):
                return await receive()
            if size > self.limits.max_body:
                mib = self.limits.max_body / (1024 * 1024)
                raise HTTPException(413, f"Dữ liệu gửi lên vượt quá {mib:g} MB.")
            message = await receive()
            if message["type"] == "http.request" and not declared:
                size += len(message.get("body", b""))
            return message

        return bounded

    def _url_problems(self, scope: Scope) -> Iterator[tuple[str, str]]:
        if (why := text_problem(scope["path"])) is not None:
            yield "path", why
        query = scope.get("query_string", b"").decode("latin-1")
        yield from _pairs_problems(parse_qsl(query, keep_blank_values=True), "query")

    def _body_problems(self, content_type: bytes, body: bytes) -> Iterator[tuple[str, str]]:
        if not body:
            return
        if content_type == b"application/json" or content_type.endswith(b"+json"):
            try:
                document = json.loads(body)
            except json.JSONDecodeError:
                # Malformed JSON is the framework's 422 to give (it names the position),
                # unless it is only too deep to read.
                if body.count(b"[") + body.count(b"{") > self.limits.max_depth:
                    yield "body", "Dữ liệu lồng nhau quá sâu."
                return
            except (ValueError, RecursionError):
                # Well-formed but unreadable (a number of thousands of digits, nesting past
                # the parser's stack): the framework would answer an English 400.
                yield "body", "Nội dung JSON không đọc được (số quá dài hoặc lồng quá sâu)."
                return
            yield from json_problems(
                document, max_depth=self.limits.max_depth, max_string=self.limits.max_string
            )
        elif content_type == b"application/x-www-form-urlencoded":
            yield from _pairs_problems(
                parse_qsl(body.decode("latin-1"), keep_blank_values=True), "body"
            )

    async def _read(self, receive: Receive) -> tuple[bytes | None, bool]:
        """The whole body, or None past `max_body`; and whether the client disconnected."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"".join(chunks), True
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limits.max_body:
                return None, False
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), False

    async def _too_large(self, send: Send) -> None:
        # The connection stays open: the server reads and drops the rest of the body. Closing
        # it instead would make a client that is still sending see a broken pipe, or a reset
        # that loses this answer, rather than the 413.
        mib = self.limits.max_body / (1024 * 1024)
        await self._answer(send, 413, f"Dữ liệu gửi lên vượt quá {mib:g} MB.")

    async def _invalid(self, send: Send, errors: list[tuple[str, str]]) -> None:
        await self._answer(
            send, 422, "Dữ liệu gửi lên chưa hợp lệ, vui lòng kiểm tra các trường được đánh dấu.",
            errors=[{"field": field, "message": message} for field, message in errors[:20]],
        )  # fmt: skip

    async def _answer(self, send: Send, status: int, detail: str, **kwargs: Any) -> None:
        response = problem(status, detail, **kwargs)
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": response.raw_headers,
            }
        )
        await send({"type": "http.response.body", "body": response.body})


def _pairs_problems(pairs: list[tuple[str, str]], where: str) -> Iterator[tuple[str, str]]:
    """Problems of `name=value` pairs, each named by its parameter (as the framework's own
    validation errors name them)."""
    for name, value in pairs:
        if (why := text_problem(name)) is not None:
            yield where, why
        elif (why := text_problem(value)) is not None:
            yield name, why


def _replay(body: bytes, disconnected: bool, receive: Receive) -> Receive:
    """A `receive` that gives the buffered body once, then what the client does next."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if disconnected:
            return {"type": "http.disconnect"}
        return await receive()

    return replay
