"""A request's multipart body handed to the use cases as a framework-free stream."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shared.multipart import MultipartStream


def multipart_of(request: Request) -> MultipartStream:
    """The request's body as a stream of parts, nothing read yet."""
    declared = request.headers.get("content-length")
    return MultipartStream(
        request.headers.get("content-type", ""),
        int(declared) if declared is not None and declared.isdigit() else None,
        request.stream().__aiter__(),
    )


Multipart = Annotated[MultipartStream, Depends(multipart_of)]
