"""The object store away (killed, then started again): an upload is answered with a clear
503 problem, not a 500, and the same upload works once the store is back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from shared.api.problems import PROBLEM_JSON, install_problem_handlers
from shared.storage import MinioObjectStore
from shared.testing import infra

pytestmark = pytest.mark.integration

BUCKET = "dossier-attachments"


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[infra.RestartableStore]:
    with infra.restartable_seaweedfs(tmp_path) as store:
        yield store


async def one(data: bytes) -> AsyncIterator[bytes]:
    yield data


def app(store: MinioObjectStore) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/upload/{key}", status_code=201)
    async def upload(key: str) -> dict[str, str]:
        stored = await store.put_stream(
            BUCKET, key, one(b"%PDF-1.4 a page"), content_type="application/pdf", max_size=1000
        )
        return {"sha256": stored.sha256}

    return app


async def test_an_upload_while_the_store_is_away_is_a_503_and_works_after(
    restartable: infra.RestartableStore,
) -> None:
    s = restartable.server
    store = MinioObjectStore(s.endpoint, s.access_key, s.secret_key)
    await store.ensure_buckets(BUCKET)
    key = f"t-{uuid.uuid4()}"
    transport = httpx.ASGITransport(app(store), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        restartable.kill()
        away = await client.post(f"/upload/{key}")
        assert away.status_code == 503, away.text
        assert away.headers["content-type"].startswith(PROBLEM_JSON)
        assert "Kho lưu trữ tệp" in away.json()["detail"]
        assert away.headers["Retry-After"]

        restartable.start()
        again = await client.post(f"/upload/{key}")
        assert again.status_code == 201, again.text
    assert await store.exists(BUCKET, key)
