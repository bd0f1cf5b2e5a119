"""The OpenAPI document names every error answer, as problem+json."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Form
from pydantic import BaseModel

from shared.api.bearer import BearerToken
from shared.api.health import health_router
from shared.api.openapi import install_openapi, problem_responses
from shared.api.problems import PROBLEM_JSON


class ThingIn(BaseModel):
    name: str


def document() -> dict[str, object]:
    app = FastAPI()

    @app.get("/public")
    async def public() -> dict[str, str]:
        return {}

    @app.post("/things/{code}/act", responses=problem_responses(409))
    async def act(code: str, body: ThingIn, token: BearerToken) -> dict[str, str]:
        return {"code": code, "name": body.name, "signed_in": str(token is not None)}

    @app.post("/token")
    async def token(
        username: Annotated[str, Form()], scope: Annotated[str | None, Form()] = None
    ) -> dict[str, str | None]:
        return {"username": username, "scope": scope}

    app.include_router(health_router({}))
    install_openapi(app)
    return app.openapi()


def statuses(doc: dict[str, object], path: str, method: str) -> dict[str, dict[str, object]]:
    return doc["paths"][path][method]["responses"]  # type: ignore[index]


def test_every_route_documents_503_and_each_error_is_problem_json() -> None:
    doc = document()
    public = statuses(doc, "/public", "get")
    assert set(public) == {"200", "503"}
    act = statuses(doc, "/things/{code}/act", "post")
    assert set(act) == {"200", "400", "401", "403", "404", "409", "413", "422", "503"}
    for status, response in act.items():
        if status != "200":
            assert list(response["content"]) == [PROBLEM_JSON]  # type: ignore[call-overload]
    schemas = doc["components"]["schemas"]  # type: ignore[index]
    assert "Problem" in schemas
    assert "HTTPValidationError" not in schemas


def test_a_bearer_token_is_a_security_scheme_each_reader_requires() -> None:
    doc = document()
    schemes = doc["components"]["securitySchemes"]  # type: ignore[index]
    assert schemes == {
        "bearer": {
            "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
            "description": schemes["bearer"]["description"],
        }
    }  # fmt: skip
    act = doc["paths"]["/things/{code}/act"]["post"]  # type: ignore[index]
    assert act["security"] == [{"bearer": []}]
    assert "parameters" not in act or all(p["name"] != "authorization" for p in act["parameters"])
    assert "security" not in doc["paths"]["/public"]["get"]  # type: ignore[index]


def test_a_form_field_is_documented_as_it_can_be_sent() -> None:
    doc = document()
    ref = doc["paths"]["/token"]["post"]["requestBody"]["content"][  # type: ignore[index]
        "application/x-www-form-urlencoded"
    ]["schema"]["$ref"]
    form = doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]  # type: ignore[index]
    # An empty field is read as one not sent; an optional one is left out, never null.
    assert form["properties"]["username"]["minLength"] == 1
    assert form["properties"]["scope"]["type"] == "string"
    assert "anyOf" not in form["properties"]["scope"]


def test_an_error_answer_with_content_of_its_own_keeps_it() -> None:
    ready = statuses(document(), "/readyz", "get")
    assert ready["503"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/ReadinessRead"}}
    }
    metrics = statuses(document(), "/metrics", "get")
    assert list(metrics["200"]["content"]) == ["text/plain"]  # type: ignore[call-overload]
