"""The request guard: bodies bounded before parsing, text a database refuses answered
422 naming the field, and load shed with 503 at once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shared.api.guard import Limits, RequestGuard
from shared.api.problems import PROBLEM_JSON, install_problem_handlers
from shared.api.uploads import Multipart
from shared.observability.metrics import metrics_for

METRICS = metrics_for("guardtest")


def app(limits: Limits, gate: asyncio.Event | None = None) -> tuple[FastAPI, list[Any]]:
    seen: list[Any] = []
    application = FastAPI()
    install_problem_handlers(application)

    @application.post("/echo")
    async def echo(body: dict[str, Any]) -> dict[str, Any]:
        seen.append(body)
        return body

    @application.get("/items/{code}")
    async def item(code: str, q: str | None = None) -> dict[str, Any]:
        seen.append((code, q))
        return {"code": code}

    @application.post("/upload")
    async def upload(body: Multipart) -> dict[str, int]:
        size = 0
        async for part in body.parts(max_body=10_000_000):
            size += sum([len(chunk) async for chunk in part.chunks()])
        seen.append(size)
        return {"size": size}

    @application.get("/slow")
    async def slow() -> dict[str, str]:
        assert gate is not None
        await gate.wait()
        return {"status": "done"}

    @application.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    application.add_middleware(RequestGuard, metrics=METRICS, limits=limits)
    return application, seen


def client(application: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(application), base_url="http://t")


def fields(response: httpx.Response) -> list[str]:
    assert response.headers["content-type"] == PROBLEM_JSON
    return [e["field"] for e in response.json()["errors"]]


async def test_nul_in_the_path_or_query_is_refused_before_the_route() -> None:
    application, seen = app(Limits())
    async with client(application) as c:
        path = await c.get("/items/%00")
        query = await c.get("/items/A1", params={"q": "x\x00y"})
        fine = await c.get("/items/A1", params={"q": "Nguyễn"})
    assert path.status_code == 422
    assert fields(path) == ["path"]
    assert query.status_code == 422
    assert fields(query) == ["q"]
    assert fine.status_code == 200
    assert seen == [("A1", "Nguyễn")]


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"form": {"address": "Số 1\u0000"}}, "form.address"),
        ({"items": [{"note": "ok"}, {"note": "\ud800"}]}, "items.1.note"),
        ({"name": "x" * 100_001}, "name"),
    ],
)
async def test_json_text_a_database_refuses_is_named(document: Any, field: str) -> None:
    application, seen = app(Limits())
    body = json.dumps(document).encode()
    async with client(application) as c:
        response = await c.post("/echo", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert fields(response) == [field]
    assert seen == []


async def test_json_nested_too_deep_is_refused() -> None:
    application, seen = app(Limits(max_depth=32))
    deep: Any = "leaf"
    for _ in range(400):
        deep = {"a": deep}
    async with client(application) as c:
        refused = await c.post("/echo", json={"form": deep})
        accepted = await c.post("/echo", json={"form": {"a": {"b": {"c": 1}}}})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["message"] == "Dữ liệu lồng nhau quá sâu."
    assert accepted.status_code == 200
    assert seen == [{"form": {"a": {"b": {"c": 1}}}}]


async def test_json_too_deep_for_the_parser_is_refused_too() -> None:
    application, _ = app(Limits())
    body = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    async with client(application) as c:
        response = await c.post(
            "/echo", content=body[: 1024 * 1024 - 1], headers={"content-type": "application/json"}
        )
    assert response.status_code == 422


async def test_a_declared_length_over_the_limit_is_refused_without_reading() -> None:
    application, seen = app(Limits(max_body=1000))
    read = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal read
        for _ in range(100):
            read += 1
            yield b"x" * 1000

    async with client(application) as c:
        response = await c.post(
            "/echo",
            content=body(),
            headers={"content-type": "application/json", "content-length": "100000"},
        )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM_JSON
    assert seen == []


async def test_a_chunked_body_over_the_limit_is_refused_while_it_arrives() -> None:
    application, seen = app(Limits(max_body=10_000))

    async def body() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b" " * 1000

    async with client(application) as c:
        response = await c.post(
            "/echo", content=body(), headers={"content-type": "application/json"}
        )
    assert response.status_code == 413
    assert seen == []


async def test_multipart_is_left_to_the_use_case_and_streams_past_the_json_limit() -> None:
    application, seen = app(Limits(max_body=1000))
    async with client(application) as c:
        response = await c.post("/upload", files={"file": ("a.pdf", b"%PDF-" + b"0" * 50_000)})
    assert response.status_code == 200
    assert seen[0] > 50_000


async def test_multipart_sent_to_a_route_that_buffers_its_body_is_bounded_like_json() -> None:
    application, seen = app(Limits(max_body=1000))
    async with client(application) as c:
        response = await c.post("/echo", files={"file": ("a.pdf", b"%PDF-" + b"0" * 50_000)})
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM_JSON
    assert seen == []


async def test_over_the_in_flight_bound_is_shed_at_once_and_health_still_answers() -> None:
    gate = asyncio.Event()
    application, _ = app(Limits(max_in_flight=3), gate)
    async with client(application) as c:
        busy = [asyncio.create_task(c.get("/slow")) for _ in range(3)]
        while True:  # wait until the three hold their places
            guard = _guard(application)
            if guard is not None and guard.in_flight == 3:
                break
            await asyncio.sleep(0.01)
        shed = await asyncio.wait_for(c.get("/slow"), timeout=1)
        health = await asyncio.wait_for(c.get("/healthz"), timeout=1)
        gate.set()
        done = await asyncio.gather(*busy)
        after = await c.get("/items/A1")
    assert shed.status_code == 503
    assert shed.headers["retry-after"] == "1"
    assert shed.headers["content-type"] == PROBLEM_JSON
    assert health.status_code == 200
    assert [r.status_code for r in done] == [200, 200, 200]
    assert after.status_code == 200


def _guard(application: FastAPI) -> RequestGuard | None:
    layer: Any = application.middleware_stack
    while layer is not None:
        if isinstance(layer, RequestGuard):
            return layer
        layer = getattr(layer, "app", None)
    return None


async def test_json_a_parser_cannot_read_is_refused_in_vietnamese() -> None:
    application, seen = app(Limits())
    async with client(application) as c:
        response = await c.post(
            "/echo", content=b'{"n": ' + b"9" * 5000 + b"}",
            headers={"content-type": "application/json"},
        )  # fmt: skip
    assert response.status_code == 422
    assert fields(response) == ["body"]
    assert seen == []
