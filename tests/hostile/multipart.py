"""multipart/form-data bodies, well formed or broken in the ways a hostile or broken
client breaks them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

BOUNDARY = "hostile-boundary-7f3a"
# A PDF's magic bytes in front of a page that runs a script: a file is what it is, not what
# its first bytes or its name claim.
HTML_AS_PDF = (
    b"%PDF-<html><body><script>document.location='https://example.test'</script></body></html>"
)


@dataclass(frozen=True)
class Field:
    name: str
    value: bytes
    filename: str | None = None
    content_type: str | None = None
    extra_headers: Sequence[str] = ()

    def encode(self, boundary: str) -> bytes:
        disposition = f'Content-Disposition: form-data; name="{self.name}"'
        if self.filename is not None:
            disposition += f'; filename="{self.filename}"'
        lines = [f"--{boundary}", disposition, *self.extra_headers]
        if self.content_type:
            lines.append(f"Content-Type: {self.content_type}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.value + b"\r\n"


def text(name: str, value: str) -> Field:
    return Field(name, value.encode())


def file(
    content: bytes, filename: str = "to-khai.pdf", content_type: str = "application/pdf"
) -> Field:
    return Field("file", content, filename, content_type)


def body(fields: Sequence[Field], boundary: str = BOUNDARY, *, closed: bool = True) -> bytes:
    """The parts, and the closing boundary unless `closed` is False (a body cut short
    after its last part, which still looks whole to an HTTP server)."""
    data = b"".join(f.encode(boundary) for f in fields)
    return data + f"--{boundary}--\r\n".encode() if closed else data


def cut_short(fields: Sequence[Field]) -> dict[str, bytes]:
    """Bodies cut short by name, the last of `fields` a file: after the file's part, with
    no closing boundary (the file looks complete), and halfway through the file."""
    unclosed = body(fields, closed=False)
    return {
        "after the file": unclosed,
        "inside the file": unclosed[: -len(fields[-1].value) // 2],
    }


def content_type(boundary: str | None = BOUNDARY) -> str:
    return "multipart/form-data" + (f"; boundary={boundary}" if boundary else "")


def malformed(fields: Sequence[Field]) -> dict[str, tuple[str, bytes]]:
    """Broken bodies by name: (Content-Type header, body)."""
    whole = body(fields)
    return {
        # The header names one boundary, the body uses another.
        "wrong boundary": (content_type("not-the-one-used"), whole),
        "missing boundary": (content_type(None), whole),
        # Text before the first boundary that is not a blank line.
        "preamble": (content_type(), b"This is a preamble, not a part.\r\n" + whole),
        "100 KB part header": (
            content_type(),
            body(
                [
                    Field("document_code", b"TP1", extra_headers=[f"X-Pad: {'a' * 100_000}"]),
                    *fields[1:],
                ]
            ),
        ),
        "too many header lines": (
            content_type(),
            body(
                [
                    Field(
                        "document_code", b"TP1", extra_headers=[f"X-Pad-{i}: a" for i in range(200)]
                    ),
                    *fields[1:],
                ]
            ),
        ),
        "garbage": (content_type(), b"\x00\xff" * 2048),
    }
