"""The one PUT of a small file: signed with the SHA-256 kept for the file, which a store
that checks the payload (as MinIO and S3 do; the tests' SeaweedFS does not) compares with
the bytes it received. Here against a stand-in that checks as S3 does."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from minio.error import S3Error

from shared.storage import MinioObjectStore

# The stand-in's own check, untouched by the test that counts the client's hashing.
REAL_SHA256 = hashlib.sha256
MISMATCH = (
    b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>XAmzContentSHA256Mismatch</Code>"
    b"<Message>The provided 'x-amz-content-sha256' header does not match what was computed."
    b"</Message></Error>"
)


class CheckingStore(BaseHTTPRequestHandler):
    """PUT: stores the body if its SHA-256 is the signed one, else 400 as S3 answers;
    DELETE: removes. Keeps each PUT's headers."""

    objects: ClassVar[dict[str, bytes]] = {}
    puts: ClassVar[list[dict[str, str]]] = []

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.puts.append(dict(self.headers))
        if REAL_SHA256(body).hexdigest() != self.headers["x-amz-content-sha256"]:
            self._answer(400, MISMATCH, "application/xml")
            return
        self.objects[self.path] = body
        self._answer(200, b"", "text/plain")

    def do_DELETE(self) -> None:
        self.objects.pop(self.path, None)
        self._answer(204, b"", "text/plain")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def store() -> Iterator[MinioObjectStore]:
    CheckingStore.objects, CheckingStore.puts = {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), CheckingStore)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield MinioObjectStore(f"127.0.0.1:{server.server_address[1]}", "key", "secret-key")
    finally:
        server.shutdown()
        thread.join()


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), 64 * 1024):
        yield data[i : i + 64 * 1024]


class Counted:
    """A SHA-256 that notes how many bytes each hash was given."""

    sizes: ClassVar[list[int]] = []

    def __init__(self, data: bytes = b"", **kwargs: Any) -> None:
        self._hash = REAL_SHA256(data, **kwargs)
        self.sizes.append(len(data))

    def update(self, data: bytes) -> None:
        self.sizes.append(len(data))
        self._hash.update(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._hash, name)


async def test_the_put_is_signed_with_the_digest_kept_for_the_file(
    store: MinioObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"%PDF-1.7\n" + bytes(range(256)) * 1024
    Counted.sizes = []
    monkeypatch.setattr(hashlib, "sha256", Counted)
    stored = await store.put_stream(
        "b", "d/1", chunks(data), content_type="application/pdf", max_size=len(data)
    )
    monkeypatch.undo()
    # The file's bytes went through SHA-256 once (the signature's own hashes are of a few
    # hundred bytes): the client hashed the body again before.
    assert sum(size for size in Counted.sizes if size > 4096) == len(data)
    [put] = CheckingStore.puts
    assert stored.sha256 == hashlib.sha256(data).hexdigest() == put["x-amz-content-sha256"]
    # The digest is part of what the signature covers, so it cannot be swapped on the way.
    assert "x-amz-content-sha256" in put["Authorization"].split("SignedHeaders=")[1].split(",")[0]
    assert "Content-MD5" not in put  # no second hash of the body
    assert CheckingStore.objects == {"/b/d/1": data}


async def test_bytes_that_do_not_match_the_digest_given_are_refused(
    store: MinioObjectStore,
) -> None:
    data = bytearray(b"%PDF-1.7\n" + b"x" * 1000)
    wrong = hashlib.sha256(b"other bytes").hexdigest()
    with pytest.raises(S3Error) as refused:
        await asyncio.to_thread(store._put_with_digest, "b", "d/2", data, wrong, "application/pdf")
    assert refused.value.code == "XAmzContentSHA256Mismatch"
    assert CheckingStore.objects == {}
