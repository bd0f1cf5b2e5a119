"""A file is what its frame says, not what its first five bytes claim."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

import pytest

from shared.errors import TooLarge, Unsupported, field_error
from shared.storage import MinioObjectStore, ObjectStore, StoredObject
from shared.storage.files import (
    SNIFF_BYTES,
    TAIL_BYTES,
    kinds,
    put_file,
    remove_stored,
    sniff,
    well_formed,
)

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\nxref\n0 1\ntrailer<<>>\nstartxref\n9\n%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x11" * 100 + b"\xff\xd9"


def judged(data: bytes) -> bool:
    kind = sniff(data[:SNIFF_BYTES])
    assert kind is not None
    return well_formed(kind, data[:SNIFF_BYTES], data[-TAIL_BYTES:])


@pytest.mark.parametrize("data", [PDF, PNG, JPEG, JPEG + b"\x00\x00\r\n"])
def test_real_files_pass(data: bytes) -> None:
    assert judged(data)


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-<html><script>alert(1)</script></html>",
        b"%PDF-1.7\n" + b"0" * 4096,  # no trailer: cut short or not a PDF
        b"%PDF-1.7\n%%EOF\n" + b"0" * 4096,  # the trailer is not at the end
        PNG[:-12],  # no IEND
        PNG[:16] + b"\x00" * 8 + PNG[24:],  # zero width and height
        b"\x89PNG\r\n\x1a\n<html></html>" + b"IEND\xaeB`\x82",
        JPEG[:-2],  # no end-of-image marker
        b"\xff\xd8\xff\x00" + JPEG[4:],  # no frame marker after SOI
    ],
    ids=[
        "html behind %PDF-",
        "pdf without trailer",
        "pdf trailer not at end",
        "png cut",
        "png zero size",
        "html behind png signature",
        "jpeg cut",
        "jpeg bad marker",
    ],
)
def test_files_that_only_start_right_are_refused(data: bytes) -> None:
    assert not judged(data)


def test_types_read_as_a_person_reads_them() -> None:
    assert kinds(["application/pdf"]) == "PDF"
    assert kinds(["application/pdf", "image/jpeg", "image/png"]) == "PDF, JPEG hoặc PNG"


class Store:
    """Removes what it is asked to, except the keys it cannot reach."""

    def __init__(self, unreachable: set[str]) -> None:
        self.unreachable = unreachable
        self.removed: list[tuple[str, str]] = []

    async def remove(self, bucket: str, key: str) -> None:
        if key in self.unreachable:
            raise ConnectionError(key)
        self.removed.append((bucket, key))


def stored(key: str) -> StoredObject:
    return StoredObject("b", key, 1, "0" * 64, "application/pdf")


async def test_a_refused_request_removes_all_it_stored_even_past_one_that_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = Store({"2"})
    await remove_stored(cast(ObjectStore, store), [stored("1"), stored("2"), stored("3")])
    assert store.removed == [("b", "1"), ("b", "3")]
    assert [r.key for r in caplog.records] == ["2"]  # type: ignore[attr-defined]


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


@pytest.mark.parametrize(
    ("data", "refusal"),
    [(b"<html></html>" + b"0" * 64, Unsupported), (PDF, TooLarge)],
    ids=["not a pdf", "too large"],
)
async def test_a_file_refused_is_told_as_the_sender_reads_it(
    data: bytes, refusal: type[Exception]
) -> None:
    store = MinioObjectStore("127.0.0.1:9", "key", "secret-key")  # never reached
    with pytest.raises(refusal) as refused:
        await put_file(
            store, "b", "k", chunks(data), accepted=["application/pdf"], max_size=len(PDF) - 1,
            refusal="Tệp phải là PDF.",
        )  # fmt: skip
    if refusal is Unsupported:
        assert refused.value.errors == [  # type: ignore[attr-defined]
            field_error("file", "Nội dung tệp không phải PDF.")
        ]
