"""Errors reach clients as problem+json, with Vietnamese text and per-field messages."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from pydantic import BaseModel, Field

from shared.api.problems import PROBLEM_JSON, install_problem_handlers
from shared.errors import Conflict


class Registration(BaseModel):
    id_number: str = Field(pattern=r"^\d{12}$")
    full_name: str


def app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/register")
    async def register(_body: Registration) -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/conflict")
    async def conflict() -> None:
        raise Conflict("Hồ sơ đã được tiếp nhận, không thể rút.")

    # One resource, two routes (as routers declare them): GET and PUT.
    @app.get("/calendar/{year}")
    async def get_year(year: int) -> dict[str, int]:
        return {"year": year}

    @app.put("/calendar/{year}")
    async def put_year(year: int, _body: Registration) -> dict[str, int]:
        return {"year": year}

    return app


async def call(method: str, path: str, **kwargs: object) -> httpx.Response:
    transport = httpx.ASGITransport(app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, path, **kwargs)  # type: ignore[arg-type]


async def test_validation_errors_name_each_field_in_vietnamese() -> None:
    response = await call("POST", "/register", json={"id_number": "12345"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == 422
    assert body["title"] == "Dữ liệu không hợp lệ"
    assert {e["field"]: e["message"] for e in body["errors"]} == {
        "id_number": "Giá trị không đúng định dạng.",
        "full_name": "Trường này là bắt buộc.",
    }


async def test_domain_problem_and_unknown_route_are_problem_json() -> None:
    conflict = await call("GET", "/conflict")
    assert conflict.status_code == 409
    assert conflict.json()["detail"] == "Hồ sơ đã được tiếp nhận, không thể rút."
    missing = await call("GET", "/nowhere")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM_JSON
    assert missing.json()["detail"] == "Không tìm thấy"


async def test_a_method_not_allowed_names_every_method_of_the_resource() -> None:
    refused = await call("DELETE", "/calendar/2026")
    assert refused.status_code == 405
    assert refused.headers["content-type"] == PROBLEM_JSON
    assert refused.headers["allow"] == "GET, PUT"


async def test_a_body_that_cannot_be_decoded_is_refused_in_vietnamese() -> None:
    refused = await call(
        "POST", "/register", content=b"\xff\xfe{", headers={"content-type": "application/json"}
    )
    assert refused.status_code == 400
    assert refused.headers["content-type"] == PROBLEM_JSON
    assert refused.json()["detail"].startswith("Không đọc được nội dung gửi lên")
