"""The object store adapter against a real SeaweedFS S3 gateway."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from minio.error import S3Error

from shared.storage import MinioObjectStore, ObjectTooLarge
from shared.testing.infra import ObjectStoreServer

pytestmark = pytest.mark.integration

BUCKET = "dossier-attachments"


@pytest.fixture
async def store(object_store_server: ObjectStoreServer) -> MinioObjectStore:
    s = object_store_server
    store = MinioObjectStore(s.endpoint, s.access_key, s.secret_key)
    await store.ensure_buckets(BUCKET)
    return store


async def chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.mark.parametrize("length", [0, 1000, 12 * 1024 * 1024 + 7])  # empty, one part, multipart
async def test_streamed_upload_keeps_size_and_sha256(store: MinioObjectStore, length: int) -> None:
    data = os.urandom(length)
    key = f"t/{uuid.uuid4()}"
    stored = await store.put_stream(
        BUCKET, key, chunks(data), content_type="application/pdf", max_size=20 * 1024 * 1024
    )
    assert (stored.size, stored.sha256) == (length, hashlib.sha256(data).hexdigest())
    assert await store.get_bytes(BUCKET, key) == data


async def test_oversized_upload_is_refused_and_leaves_nothing(store: MinioObjectStore) -> None:
    for length in (300_000, 7 * 1024 * 1024):  # over the limit within one part, and past a part
        key = f"t/{uuid.uuid4()}"
        with pytest.raises(ObjectTooLarge):
            await store.put_stream(
                BUCKET, key, chunks(os.urandom(length)), content_type="application/pdf",
                max_size=length - 1,
            )  # fmt: skip
        assert not await store.exists(BUCKET, key)


async def test_presigned_link_serves_the_object_and_plain_requests_are_refused(
    store: MinioObjectStore, object_store_server: ObjectStoreServer
) -> None:
    key = f"t/{uuid.uuid4()}"
    await store.put_stream(
        BUCKET, key, chunks(b"%PDF-1.7 ket qua"), content_type="application/pdf", max_size=100
    )
    async with httpx.AsyncClient() as client:
        signed = await client.get(store.presigned_get(BUCKET, key, timedelta(minutes=5)))
        anonymous = await client.get(f"http://{object_store_server.endpoint}/{BUCKET}/{key}")
    assert signed.status_code == 200
    assert signed.content == b"%PDF-1.7 ket qua"
    assert anonymous.status_code == 403


async def test_replicas_starting_at_once_all_ensure_the_same_new_bucket(
    object_store_server: ObjectStoreServer,
) -> None:
    """Every replica of a service ensures its buckets as it starts; on a new store they
    all see the bucket missing and create it: the ones that lose the race must start too."""
    s = object_store_server
    bucket = f"race-{uuid.uuid4().hex[:12]}"
    stores = [MinioObjectStore(s.endpoint, s.access_key, s.secret_key) for _ in range(6)]
    await asyncio.gather(*(store.ensure_buckets(bucket) for store in stores))
    assert await asyncio.to_thread(stores[0].client.bucket_exists, bucket)


async def test_a_small_file_is_hashed_once_and_the_store_accepts_its_signature(
    store: MinioObjectStore,
) -> None:
    """A file within one PUT is sent signed with the digest kept for it, which the store
    accepts (it checks every request's signature), and what is stored is those bytes."""
    data = b"%PDF-1.7\n" + os.urandom(256 * 1024)
    key = f"t/{uuid.uuid4()}"
    stored = await store.put_stream(
        BUCKET, key, chunks(data), content_type="application/pdf", max_size=len(data)
    )
    assert (stored.size, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert await store.get_bytes(BUCKET, key) == data


async def test_a_small_file_the_store_refuses_is_its_error_and_leaves_nothing(
    store: MinioObjectStore, object_store_server: ObjectStoreServer
) -> None:
    """The store's refusal of the one PUT (here a signature by a wrong key) is raised as
    the store's error, as the client raised it before, and no object is left."""
    s = object_store_server
    wrong = MinioObjectStore(s.endpoint, s.access_key, "not-the-secret-key")
    key = f"t/{uuid.uuid4()}"
    with pytest.raises(S3Error) as refused:
        await wrong.put_stream(
            BUCKET, key, chunks(b"%PDF-1.7 tep"), content_type="application/pdf", max_size=100
        )
    assert refused.value.code in {"SignatureDoesNotMatch", "AccessDenied", "InvalidAccessKeyId"}
    assert not await store.exists(BUCKET, key)
