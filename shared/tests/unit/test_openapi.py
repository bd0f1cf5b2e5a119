"""The OpenAPI document names every error answer, as problem+json."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from shared.api.openapi import install_openapi, problem_responses
from shared.api.problems import PROBLEM_JSON

bearer = HTTPBearer(auto_error=False)


class ThingIn(BaseModel):
    name: str


def document() -> dict[str, object]:
    app = FastAPI()

    @app.get("/public")
    async def public() -> dict[str, str]:
        return {}

    @app.post("/things/{code}/act", responses=problem_responses(409))
    async def act(
        code: str,
        body: ThingIn,
        token: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> dict[str, str]:
        return {"code": code, "name": body.name, "signed_in": str(token is not None)}

    @app.get("/ready", responses={503: {"model": ThingIn, "description": "Its own report."}})
    async def ready() -> dict[str, str]:
        return {}

    install_openapi(app)
    return app.openapi()


def statuses(doc: dict[str, object], path: str, method: str) -> dict[str, dict[str, object]]:
    return doc["paths"][path][method]["responses"]  # type: ignore[index]


def test_every_route_documents_503_and_each_error_is_problem_json() -> None:
    doc = document()
    public = statuses(doc, "/public", "get")
    assert set(public) == {"200", "503"}
    act = statuses(doc, "/things/{code}/act", "post")
    assert set(act) == {"200", "401", "403", "404", "409", "413", "422", "503"}
    for status, response in act.items():
        if status != "200":
            assert list(response["content"]) == [PROBLEM_JSON]  # type: ignore[call-overload]
    own = statuses(doc, "/ready", "get")["503"]["content"]
    assert list(own) == ["application/json"]  # type: ignore[call-overload]
    schemas = doc["components"]["schemas"]  # type: ignore[index]
    assert "Problem" in schemas
    assert "HTTPValidationError" not in schemas
