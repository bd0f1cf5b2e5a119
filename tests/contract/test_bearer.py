"""The bearer token is read the same way by every service that needs one: without a
token, with another scheme, or with a token that does not verify, the answer is 401
problem+json asking for a bearer token; the OpenAPI names the scheme it requires."""

from __future__ import annotations

import httpx
import pytest

from shared.testing.processes import ServiceProcess

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

PROTECTED = [
    ("intake", "/api/v1/accounts/me"),
    ("workflow", "/api/v1/dossiers"),
    ("notify", "/api/v1/notifications"),
]


@pytest.mark.parametrize(("service", "path"), PROTECTED)
@pytest.mark.parametrize("authorization", [None, "Basic dXNlcjpwYXNz", "Bearer not-a-token"])
async def test_without_a_valid_bearer_token_the_answer_is_401_asking_for_one(
    services: dict[str, ServiceProcess], service: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    async with httpx.AsyncClient(base_url=services[service].url, timeout=10) as client:
        answer = await client.get(path, headers=headers)
        document = (await client.get("/openapi.json")).json()
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["www-authenticate"] == "Bearer"
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert document["paths"][path]["get"]["security"] == [{"bearer": []}]
