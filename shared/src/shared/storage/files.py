"""Files people send: what a file really is (by its first bytes, never by its name, and
by a structure check of its head and tail), a file name that is safe to show and to send
back in a header, storing a stream after checking its type, and removing what a refused
request stored."""

from __future__ import annotations

import logging
import re
import struct
import unicodedata
from collections.abc import AsyncIterator, Collection, Iterable

from shared.errors import Unsupported, field_error
from shared.multipart import too_large
from shared.storage.store import ObjectStore, ObjectTooLarge, StoredObject

log = logging.getLogger(__name__)

# The content types the catalogue may accept, recognised by their magic bytes.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
SNIFF_BYTES = 32
TAIL_BYTES = 1024
_PDF_HEADER = re.compile(rb"%PDF-[12]\.\d")
_PNG_END = b"IEND\xaeB`\x82"

_MAX_NAME = 120


def sniff(head: bytes) -> str | None:
    """The content type the bytes actually are, or None when not one we accept."""
    for signature, content_type in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def well_formed(content_type: str, head: bytes, tail: bytes) -> bool:
    """Whether a file of `content_type` has the frame of one, judged by its first and last
    bytes: a PDF a version header and a cross-reference trailer (`startxref` ... `%%EOF`),
    a PNG a sane IHDR and the IEND chunk, a JPEG a frame marker after SOI and the EOI
    marker. Magic bytes alone let any file through behind five characters."""
    if content_type == "application/pdf":
        return bool(_PDF_HEADER.match(head)) and b"startxref" in tail and b"%%EOF" in tail
    if content_type == "image/png":
        if head[8:16] != b"\x00\x00\x00\rIHDR" or len(head) < 24:
            return False
        width, height = struct.unpack(">II", head[16:24])
        return 0 < width <= 100_000 and 0 < height <= 100_000 and tail.endswith(_PNG_END)
    if content_type == "image/jpeg":
        # Some writers pad after the end-of-image marker; padding is not content.
        return len(head) > 3 and head[3] >= 0xC0 and tail.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9")
    return False


def filename_problem(name: str | None) -> str | None:
    """Why a file name is refused (a path, or control characters in it), or None.

    Such a name is never a citizen's honest scan; refusing it says so clearly instead of
    storing something other than what they sent.
    """
    if name is None:
        return None
    if "\x00" in name or any(unicodedata.category(c) == "Cc" for c in name):
        return "Tên tệp chứa ký tự không hợp lệ."
    if "/" in name or "\\" in name or name.strip() in {".", ".."}:
        return "Tên tệp không được chứa đường dẫn."
    return None


def safe_filename(name: str | None, fallback: str = "tep-dinh-kem") -> str:
    """The last path component, NFC-normalised, without control characters.

    The name is only displayed: objects are stored under keys that never derive from it.
    """
    text = unicodedata.normalize("NFC", name or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C").strip().strip(".")
    if not text:
        return fallback
    if len(text) > _MAX_NAME:
        stem, dot, ext = text.rpartition(".")
        text = (
            stem[: _MAX_NAME - len(ext) - 1] + dot + ext
            if dot and len(ext) <= 10
            else text[:_MAX_NAME]
        )
    return text


class UnacceptedContent(Exception):
    """The file is not of an accepted type (`found` is what it is, None if unknown)."""

    def __init__(self, found: str | None) -> None:
        super().__init__(f"content type {found} is not accepted")
        self.found = found


async def put_checked(
    store: ObjectStore,
    bucket: str,
    key: str,
    chunks: AsyncIterator[bytes],
    *,
    accepted: Collection[str],
    max_size: int,
) -> StoredObject:
    """Store a stream whose first bytes show one of the `accepted` types and whose frame
    is one (`well_formed`); nothing is stored otherwise. Raises UnacceptedContent, or
    ObjectTooLarge past `max_size`."""
    head = bytearray()
    async for chunk in chunks:
        head += chunk
        if len(head) >= SNIFF_BYTES:
            break
    content_type = sniff(bytes(head))
    if content_type is None or content_type not in accepted:
        raise UnacceptedContent(content_type)

    async def body() -> AsyncIterator[bytes]:
        # Raising before the last chunk is handed over makes the store abort the upload.
        tail = bytes(head[-TAIL_BYTES:])
        yield bytes(head)
        async for chunk in chunks:
            # Only the chunk's end joins the tail: joining it whole copied every file once more.
            tail = (tail + chunk[-TAIL_BYTES:])[-TAIL_BYTES:]
            yield chunk
        if not well_formed(content_type, bytes(head[:SNIFF_BYTES]), tail):
            raise UnacceptedContent(None)

    return await store.put_stream(bucket, key, body(), content_type=content_type, max_size=max_size)


def kinds(content_types: Iterable[str]) -> str:
    """The types as a person reads them: "PDF, JPEG hoặc PNG"."""
    names = [t.split("/")[1].upper() for t in content_types]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} hoặc {names[-1]}"


async def put_file(
    store: ObjectStore,
    bucket: str,
    key: str,
    chunks: AsyncIterator[bytes],
    *,
    accepted: Collection[str],
    max_size: int,
    refusal: str,
) -> StoredObject:
    """`put_checked`, with its refusals as the sender reads them: a file of another type
    is Unsupported (`refusal`, and the file field's error), one past `max_size` too large."""
    try:
        return await put_checked(store, bucket, key, chunks, accepted=accepted, max_size=max_size)
    except UnacceptedContent:
        raise Unsupported(
            refusal, errors=[field_error("file", f"Nội dung tệp không phải {kinds(accepted)}.")]
        ) from None
    except ObjectTooLarge:
        raise too_large(max_size) from None


async def remove_stored(store: ObjectStore, objects: Iterable[StoredObject]) -> None:
    """Remove what a refused request stored. One that cannot be removed now is left: an
    object no row refers to is harmless, its key is logged, and the orphan sweeper of the
    bucket's owner removes it later; the refusal is what the caller must still raise."""
    for stored in objects:
        try:
            await store.remove(stored.bucket, stored.key)
        except Exception:
            log.warning("could not remove a refused file", extra={"key": stored.key})
