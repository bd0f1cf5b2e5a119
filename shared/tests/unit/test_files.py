"""A file is what its frame says, not what its first five bytes claim."""

from __future__ import annotations

import pytest

from shared.storage.files import SNIFF_BYTES, TAIL_BYTES, sniff, well_formed

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
