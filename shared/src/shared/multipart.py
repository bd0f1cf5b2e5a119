"""multipart/form-data read as a stream: each file part's bytes go on to their
destination (the object store) as they arrive, so a file is never held whole in memory
nor spooled to disk, and a body over its limit is refused while it is still arriving.

The HTTP edge makes a `MultipartStream` of a request (`shared.api.uploads`); use cases
read its parts without knowing any web framework.

Strict, because a file cut short must never be stored as if whole: a body that ends
before its closing boundary raises `BadRequest` while the last part is still being read
(so its destination aborts), and so does a body the parser cannot read; the number of
parts, the size of a part's headers and their count are bounded.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from shared.errors import BadRequest, Refused, TooLarge, Unsupported, invalid_field
from shared.text import text_problem

MAX_FIELD_BYTES = 64 * 1024
# The parser bounds each part's header count and size itself (a MultipartParseError).
MAX_PARTS = 100

TRUNCATED = "Dữ liệu gửi lên bị ngắt giữa chừng; tệp chưa được lưu, vui lòng gửi lại."
MALFORMED = "Dữ liệu multipart/form-data không đúng định dạng."


def too_large(limit: int) -> Refused:
    mib = limit / (1024 * 1024)
    return TooLarge(f"Tệp hoặc hồ sơ vượt quá dung lượng cho phép ({mib:g} MB).")


@dataclass
class Part:
    name: str
    filename: str | None
    content_type: str | None
    _stream: MultipartStream = field(repr=False)
    _done: bool = False

    async def chunks(self) -> AsyncIterator[bytes]:
        """This part's bytes, as they arrive."""
        while not self._done:
            kind, payload = await self._stream._pull()
            if kind == "data":
                assert isinstance(payload, bytes)
                yield payload
            else:  # its end, or the end of a truncated body
                self._done = True

    async def text(self) -> str:
        """A small text field's value (limited, so a field cannot stand in for a file)."""
        value = bytearray()
        async for chunk in self.chunks():
            value += chunk
            if len(value) > MAX_FIELD_BYTES:
                raise TooLarge("Trường dữ liệu quá dài.")
        text = value.decode("utf-8", errors="replace")
        if (why := text_problem(text)) is not None:
            raise invalid_field(self.name, why)
        return text


class MultipartStream:
    """Parts of a multipart body, pulled from the client only as fast as they are used.

    `content_type` and `declared_length` are the request's headers, `body` its chunks as
    they arrive. Nothing is read until `parts()`."""

    def __init__(
        self, content_type: str, declared_length: int | None, body: AsyncIterator[bytes]
    ) -> None:
        self._content_type = content_type
        self.declared_length = declared_length
        self._body = body
        self._max_body = 0
        self._read = 0
        self._finished = False
        self._events: deque[tuple[str, bytes | dict[bytes, bytes] | None]] = deque()
        self._field = bytearray()
        self._value = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._parts = 0
        self._ended = False
        self._current: Part | None = None
        self._parser: MultipartParser | None = None

    def refuse_if_declared_over(self, limit: int) -> None:
        """413 from the declared length alone, before a byte of the body is read."""
        if self.declared_length is not None and self.declared_length > limit:
            raise too_large(limit)

    def _start(self, max_body: int) -> MultipartParser:
        content_type, options = parse_options_header(self._content_type)
        boundary = options.get(b"boundary")
        if content_type != b"multipart/form-data" or not boundary:
            raise Unsupported("Yêu cầu phải gửi dạng multipart/form-data.")
        self._max_body = max_body
        return MultipartParser(
            boundary,
            {
                "on_header_field": lambda d, s, e: self._field.extend(d[s:e]),
                "on_header_value": lambda d, s, e: self._value.extend(d[s:e]),
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": lambda d, s, e: self._events.append(("data", bytes(d[s:e]))),
                "on_part_end": lambda: self._events.append(("end", None)),
                "on_end": self._end,
            },
        )

    def _end(self) -> None:
        self._ended = True
        self._events.append(("finish", None))

    def _header_end(self) -> None:
        self._headers[bytes(self._field).lower()] = bytes(self._value)
        self._field.clear()
        self._value.clear()

    def _headers_finished(self) -> None:
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise TooLarge("Gửi quá nhiều phần trong một yêu cầu.")
        self._events.append(("begin", self._headers))
        self._headers = {}

    async def _pull(self) -> tuple[str, bytes | dict[bytes, bytes] | None]:
        assert self._parser is not None, "parts() starts the parser"
        while not self._events:
            if self._finished:
                return "finish", None
            try:
                chunk = await anext(self._body)
            except StopAsyncIteration:
                self._finished = True
                if not self._ended:
                    # No closing boundary: whatever the last part holds is incomplete.
                    raise BadRequest(TRUNCATED) from None
                continue
            self._read += len(chunk)
            if self._read > self._max_body:
                raise too_large(self._max_body)
            try:
                self._parser.write(chunk)
            except MultipartParseError:
                raise BadRequest(MALFORMED) from None
        return self._events.popleft()

    async def parts(self, *, max_body: int) -> AsyncIterator[Part]:
        """Each part in order, the body refused past `max_body` bytes; what the caller
        leaves unread of a part is skipped."""
        self._parser = self._start(max_body)
        while True:
            if self._current is not None:
                async for _ in self._current.chunks():
                    pass
            kind, payload = await self._pull()
            if kind == "finish":
                return
            if kind != "begin":
                continue
            assert isinstance(payload, dict)
            _, options = parse_options_header(payload.get(b"content-disposition", b""))
            filename = options.get(b"filename")
            declared = payload.get(b"content-type")
            self._current = Part(
                name=options.get(b"name", b"").decode("utf-8", errors="replace"),
                filename=filename.decode("utf-8", errors="replace")
                if filename is not None
                else None,
                content_type=declared.decode("latin-1") if declared else None,
                _stream=self,
            )
            yield self._current
