"""The OpenAPI document tells the truth about errors: every answer a route can give that
is not its success is documented as `application/problem+json` with one schema.

Some answers every route of a kind can give, so they are added here once instead of on
each route: 503 (load shedding, the database away) everywhere; 422 (validation and the
request guard) where a route takes parameters or a body; 413 (body limit) and 400 (a body
that cannot be decoded) where it takes a body; 415 where it takes multipart; 401 and 403
where it reads a bearer token; 404 where its path names something. What only some routes
answer (409, 410, 423, 429, a 400 of their own, a 404 for a query parameter naming
something unknown) the route declares with `responses=problem_responses(...)`.

An error answer a route describes with its own content (`/readyz`'s 503 is its report,
not a problem) keeps it.

A form field is documented as it can be sent: text, never null (a form has no null; an
optional field is one left out), and, where required, not empty (FastAPI reads an empty
field as one not sent).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from shared.api.problems import PROBLEM_JSON, TITLES

PROBLEM = "Problem"
FORM = "application/x-www-form-urlencoded"
# FastAPI's schema of its own 422 answer, which the problem replaces.
VALIDATION_ERROR = "HTTPValidationError"
_PROBLEM_SCHEMA: dict[str, Any] = {
    "title": PROBLEM,
    "description": "An error (RFC 9457); Vietnamese text for citizens.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        "retry_after": {"type": "integer"},
    },
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: these statuses answered as problem+json."""
    return {status: _problem(status) for status in statuses}


def _problem(status: int) -> dict[str, Any]:
    return {
        "description": TITLES.get(status, "Lỗi"),
        "content": {PROBLEM_JSON: {"schema": {"$ref": f"#/components/schemas/{PROBLEM}"}}},
    }


def _implied(operation: dict[str, Any], path: str) -> set[int]:
    statuses = {503}
    body = operation.get("requestBody", {}).get("content", {})
    if operation.get("parameters") or body:
        statuses.add(422)
    if body:
        statuses |= {400, 413}
    if "multipart/form-data" in body:
        statuses.add(415)
    if operation.get("security"):
        statuses |= {401, 403}
    if "{" in path:
        statuses.add(404)
    return statuses


def _described(response: dict[str, Any]) -> bool:
    """Whether the route gave this answer a content of its own (FastAPI's 422 is not)."""
    content = response.get("content", {})
    return bool(content) and VALIDATION_ERROR not in str(content)


def with_problems(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with every error answer as problem+json (FastAPI's own 422 replaced)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas[PROBLEM] = _PROBLEM_SCHEMA
    for path, item in document.get("paths", {}).items():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            for status in _implied(operation, path):
                responses.setdefault(str(status), _problem(status))
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400 and not _described(response):
                    response["content"] = _problem(int(status))["content"]
    for unused in (VALIDATION_ERROR, "ValidationError"):
        schemas.pop(unused, None)
    for form in _forms(document, schemas):
        _as_sent(form)
    return document


def _forms(document: dict[str, Any], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for item in document.get("paths", {}).values():
        for operation in item.values():
            form = operation.get("requestBody", {}).get("content", {}).get(FORM, {})
            schema = form.get("schema", {})
            if "$ref" in schema:
                schema = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
            found.append(schema)
    return found


def _as_sent(form: dict[str, Any]) -> None:
    properties = form.get("properties", {})
    for field in properties.values():
        choices = [c for c in field.get("anyOf", []) if c != {"type": "null"}]
        if len(choices) == 1:
            del field["anyOf"]
            field.update(choices[0])
    for name in form.get("required", []):
        field = properties.get(name, {})
        if field.get("type") == "string":
            field["minLength"] = max(1, field.get("minLength", 0))


def install_openapi(app: FastAPI) -> None:
    """Serve `with_problems` of the app's document (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_problems(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    routes=app.routes,
                    description=app.description,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
