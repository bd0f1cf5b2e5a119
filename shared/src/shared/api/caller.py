"""The caller's address, read the same way by every service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request


async def client_address(request: Request) -> str:
    """The caller's address, for abuse and sign-in limits: behind the trusted proxies
    (`trusted_proxies`) the client's, else the peer's. (A coroutine: a plain function
    would run on a worker thread, a hop that costs more than reading it.)"""
    return request.client.host if request.client else "unknown"


ClientAddress = Annotated[str, Depends(client_address)]
