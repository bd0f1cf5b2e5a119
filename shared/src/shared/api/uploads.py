"""A request's multipart body handed to the use cases as a framework-free stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.requests import ClientDisconnect

from shared.api.guard import STREAMED
from shared.errors import BadRequest
from shared.multipart import TRUNCATED, MultipartStream


async def multipart_of(request: Request) -> MultipartStream:
    """The request's body as a stream of parts, nothing read yet (a coroutine, so that
    it does not run on a worker thread)."""
    request.scope[STREAMED] = True
    declared = request.headers.get("content-length")
    return MultipartStream(
        request.headers.get("content-type", ""),
        int(declared) if declared is not None and declared.isdigit() else None,
        _body(request),
    )


async def _body(request: Request) -> AsyncIterator[bytes]:
    # A client gone mid-upload is a truncated body: the use case stores nothing of it.
    try:
        async for chunk in request.stream():
            yield chunk
    except ClientDisconnect:
        raise BadRequest(TRUNCATED) from None


Multipart = Annotated[MultipartStream, Depends(multipart_of)]


# A file part in a multipart body's schema.
FILE: dict[str, Any] = {"type": "string", "format": "binary"}


def multipart_body(required: tuple[str, ...] = (), **parts: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` of a route reading `Multipart`: the parts it expects, in order
    (FastAPI cannot see them, the body being read as a stream)."""
    schema: dict[str, Any] = {"type": "object", "properties": parts}
    if required:
        schema["required"] = list(required)
    content = {"multipart/form-data": {"schema": schema}}
    return {"requestBody": {"required": True, "content": content}}
