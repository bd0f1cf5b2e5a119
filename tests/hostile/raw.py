"""HTTP as a hostile client speaks it, on a bare socket: bodies streamed without being
held, declared longer than sent, cut off, or left hanging. An ordinary client (httpx)
would refuse to send most of these, or would send them whole before reading the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

CHUNK = 64 * 1024
# Long enough for a server that reads a whole 55 MB body before answering.
ANSWER_SECONDS = 60


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes
    # Body bytes the client had written when the answer's head arrived.
    sent: int
    # Seconds from the request's first byte to the answer's head.
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)

    def fields(self) -> list[str]:
        """The fields a 422 problem names."""
        return [e["field"] for e in self.json().get("errors", [])]


def refused(answer: Answer, *statuses: int) -> None:
    """`answer` is one of `statuses`, as a problem document (never a bare error page)."""
    assert answer.status in statuses, (answer.status, answer.body[:300])
    assert answer.headers["content-type"] == "application/problem+json", answer.headers


def head(method: str, target: str, headers: Mapping[str, str]) -> bytes:
    lines = [
        f"{method} {target} HTTP/1.1",
        "Host: test",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def repeated(total: int, *, prefix: bytes = b"", suffix: bytes = b"") -> Iterable[bytes]:
    """`total` bytes: `prefix`, filler, `suffix`, in chunks, never held whole."""
    yield prefix
    left = total - len(prefix) - len(suffix)
    block = b"a" * CHUNK
    while left > 0:
        yield block[: min(left, CHUNK)]
        left -= CHUNK
    yield suffix


def chunked(chunks: Iterable[bytes]) -> Iterable[bytes]:
    """The same bytes in `Transfer-Encoding: chunked` framing (no length declared)."""
    for chunk in chunks:
        if chunk:
            yield f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    yield b"0\r\n\r\n"


async def _connect(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    address = urlsplit(url)
    return await asyncio.open_connection(address.hostname, address.port, limit=1024 * 1024)


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    raw = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = raw.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        body = b""
        while size := int((await reader.readline()).strip() or b"0", 16):
            body += await reader.readexactly(size)
            await reader.readline()
        await reader.readline()
    else:
        body = await reader.read()
    return int(status_line.split()[1]), headers, body


async def exchange(
    url: str,
    request_head: bytes,
    body: Iterable[bytes] = (),
    *,
    pause_before_body: float = 0.0,
) -> Answer:
    """Send a request and read its answer while the body is still being written: the
    writing stops as soon as the answer's head has arrived (or the server closes), as a
    client does that listens. `pause_before_body` holds the body back, so an answer that
    comes within it was given on the headers alone."""
    reader, writer = await _connect(url)
    started = time.perf_counter()
    sent = 0
    answered = asyncio.Event()

    async def write() -> None:
        nonlocal sent
        writer.write(request_head)
        await writer.drain()
        if pause_before_body:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(answered.wait(), pause_before_body)
        for chunk in body:
            if answered.is_set():
                return
            writer.write(chunk)
            await writer.drain()
            sent += len(chunk)
            # drain() does not yield while the socket takes the bytes: give the reader its
            # turn, so an answer that has come stops the writing as a listening client would.
            await asyncio.sleep(0)

    writing = asyncio.create_task(write())
    try:
        async with asyncio.timeout(ANSWER_SECONDS):
            status, headers, content = await _read_answer(reader)
    finally:
        answered.set()
        at = sent
        with contextlib.suppress(ConnectionError, OSError):
            await writing
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()
    return Answer(status, headers, content, at, time.perf_counter() - started)


async def abandon(url: str, request_head: bytes, partial: Iterable[bytes]) -> None:
    """Send the head and part of the body, then go away (a browser tab closed mid-upload):
    the connection is reset, no answer is read."""
    reader, writer = await _connect(url)
    writer.write(request_head)
    for chunk in partial:
        writer.write(chunk)
    await writer.drain()
    transport = writer.transport
    assert isinstance(transport, asyncio.Transport)
    transport.abort()
    del reader


@contextlib.asynccontextmanager
async def hanging(url: str, count: int, target: str) -> AsyncIterator[None]:
    """`count` requests in flight at once that never finish on their own: each declares a
    body and sends only its first byte. They are cut when the block ends."""
    writers = []
    try:
        for _ in range(count):
            _, writer = await _connect(url)
            writer.write(
                head("POST", target, {"Content-Type": "application/json", "Content-Length": "64"})
                + b"{"
            )
            await writer.drain()
            writers.append(writer)
        yield
    finally:
        for writer in writers:
            transport = writer.transport
            assert isinstance(transport, asyncio.Transport)
            transport.abort()
