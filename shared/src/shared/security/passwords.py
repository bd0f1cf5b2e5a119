"""Password and short-secret hashing with Argon2id (argon2-cffi's defaults).

A hash or a check takes tens of milliseconds of CPU: a service calls the `_off_loop`
forms, which run it in a worker thread so that the event loop keeps serving the others.
"""

from __future__ import annotations

import asyncio
import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(stored_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _decoy_hash() -> str:
    return hash_secret(secrets.token_hex(16))


def _verify_decoy(secret: str) -> bool:
    # Made at first use, in the worker thread too: never on the event loop.
    return verify_secret(_decoy_hash(), secret)


async def hash_off_loop(secret: str) -> str:
    """`hash_secret` in a worker thread."""
    return await asyncio.to_thread(hash_secret, secret)


async def verify_off_loop(stored_hash: str, secret: str) -> bool:
    """`verify_secret` in a worker thread."""
    return await asyncio.to_thread(verify_secret, stored_hash, secret)


async def verify_decoy_off_loop(secret: str) -> None:
    """A check as slow as a real one against a hash nothing matches: taken where there is
    nothing to check, so that the time of an answer does not tell."""
    await asyncio.to_thread(_verify_decoy, secret)
