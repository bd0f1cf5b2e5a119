"""multipart read strictly: a body cut short, or one the parser cannot read, is refused
while its last part is still being read, so that nothing of it is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.errors import BadRequest, Invalid, TooLarge, Unsupported
from shared.multipart import MAX_PARTS, MultipartStream

CONTENT_TYPE = "multipart/form-data; boundary=b"


def body(*parts: bytes, end: bool = True) -> bytes:
    text = b"".join(b"--b\r\n" + part + b"\r\n" for part in parts)
    return text + (b"--b--\r\n" if end else b"")


def field(name: str, value: bytes) -> bytes:
    return f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value


def file(content: bytes) -> bytes:
    return (
        b'Content-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n" + content
    )


async def chunked(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def drain(stream: MultipartStream, max_body: int, into: bytearray) -> None:
    """Read every part to its end, keeping the bytes."""
    async for part in stream.parts(max_body=max_body):
        async for chunk in part.chunks():
            into += chunk


async def read_all(data: bytes, content_type: str = CONTENT_TYPE) -> list[tuple[str, bytes]]:
    stream = MultipartStream(content_type, len(data), chunked(data))
    out = []
    async for part in stream.parts(max_body=1_000_000):
        out.append((part.name, b"".join([c async for c in part.chunks()])))
    return out


async def test_a_whole_body_gives_its_parts() -> None:
    parts = await read_all(body(field("document_code", b"TP1"), file(b"%PDF-1.7 abc")))
    assert parts == [("document_code", b"TP1"), ("file", b"%PDF-1.7 abc")]


@pytest.mark.parametrize("cut", [10, 60, 120, -9, -5])
async def test_a_body_cut_anywhere_before_its_closing_boundary_is_refused(cut: int) -> None:
    whole = body(field("document_code", b"TP1"), file(b"%PDF-1.7 " + b"x" * 50))
    with pytest.raises(BadRequest):
        await read_all(whole[:cut])


async def test_a_file_part_never_ends_normally_when_its_body_is_cut() -> None:
    data = body(file(b"%PDF-1.7 " + b"x" * 50), end=False)[:-10]
    stream = MultipartStream(CONTENT_TYPE, None, chunked(data))
    received = bytearray()
    with pytest.raises(BadRequest):
        await drain(stream, 10_000, received)
    assert received.startswith(b"%PDF-1.7")  # the consumer saw bytes, then the refusal


@pytest.mark.parametrize(
    "data",
    [
        b"--other\r\n" + field("a", b"1") + b"\r\n--other--\r\n",  # another boundary
        b"\r\n".join([b"--b", b"X-Header: " + b"v" * 100_000, b"", b"1", b"--b--", b""]),
        b"--b\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(50)) + b"\r\n1\r\n--b--\r\n",
    ],
    ids=["wrong boundary", "huge part header", "too many header lines"],
)
async def test_malformed_bodies_are_refused_not_crashed_on(data: bytes) -> None:
    with pytest.raises((BadRequest, TooLarge)):
        await read_all(data)


async def test_too_many_parts_are_refused() -> None:
    data = body(*[field(f"f{i}", b"1") for i in range(MAX_PARTS + 1)])
    with pytest.raises(TooLarge):
        await read_all(data)


@pytest.mark.parametrize("content_type", ["application/json", "multipart/form-data", ""])
async def test_a_body_that_is_not_multipart_with_a_boundary_is_unsupported(
    content_type: str,
) -> None:
    with pytest.raises(Unsupported):
        await read_all(body(field("a", b"1")), content_type)


async def test_a_body_over_its_limit_is_refused_while_it_arrives() -> None:
    data = body(file(b"x" * 5000))
    stream = MultipartStream(CONTENT_TYPE, None, chunked(data, 100))
    with pytest.raises(TooLarge):
        await drain(stream, 1000, bytearray())


async def texts(stream: MultipartStream) -> list[str]:
    return [await part.text() async for part in stream.parts(max_body=10_000)]


async def test_a_text_field_holding_nul_is_named() -> None:
    # (Invalid UTF-8 in a field is read with replacement characters: nothing to refuse.)
    data = body(field("note", "Ghi chú\x00".encode()))
    with pytest.raises(Invalid) as refused:
        await texts(MultipartStream(CONTENT_TYPE, None, chunked(data)))
    assert [e["field"] for e in refused.value.errors or []] == ["note"]
