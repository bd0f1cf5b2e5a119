"""intake's abuse limits (registration, codes, sign-in, submission, tracking), counted by
the shared fixed-window counters (`shared/db/limits.py`) in intake's own database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg

from intake.services.context import Context
from shared.db.limits import HOUR, MINUTE, QUARTER
from shared.db.sql import Sql

__all__ = [
    "HOUR",
    "MINUTE",
    "QUARTER",
    "code_guessed",
    "code_requested",
    "codes_asked_from",
    "codes_sent",
    "hit",
    "hit_all",
    "hit_then_fetchrow",
    "tracked_from",
]


async def hit(ctx: Context, bucket: str, limit: int, window: timedelta) -> None:
    """Count one hit in `bucket`; a 429 problem with Retry-After once over `limit`."""
    await ctx.limits.hit(ctx.db, bucket, limit, window)


async def hit_all(ctx: Context, *hits: tuple[str, int, timedelta]) -> None:
    """Count one hit in each `(bucket, limit, window)` at once (one statement); a 429
    problem once any is over its limit."""
    await ctx.limits.hit_all(ctx.db, *hits)


async def hit_then_fetchrow(
    ctx: Context, hits: tuple[tuple[str, int, timedelta], ...], read: Sql, *args: Any
) -> asyncpg.Record | None:
    """`hit_all(*hits)` and `read`'s first row in one statement (a public read): the row,
    or None; the 429 problem once any hit is over its limit, the row then unseen."""
    return await ctx.limits.hit_then_fetchrow(ctx.db, hits, read, *args)


def tracked_from(address: str) -> tuple[str, int, timedelta]:
    """Public tracking pages asked from one address: enough for a desk's counter, not for
    trying codes one after the other."""
    return (f"tracking-ip:{address}", 600, HOUR)


async def codes_sent(ctx: Context, id_number: str) -> None:
    """SMS codes sent for one ID number, whatever the purpose."""
    await hit(ctx, f"otp-account:{id_number}", ctx.settings.limit_otp_per_account_hour, HOUR)


async def codes_asked_from(ctx: Context, address: str) -> None:
    """Requests for an SMS code from one address, whatever the purpose: held to the
    registrations' limit, as each sends a message the portal pays for."""
    await hit(ctx, f"otp-ip:{address}", ctx.settings.limit_register_per_ip_hour, HOUR)


async def code_requested(ctx: Context, id_number: str, address: str) -> None:
    """A request for an SMS code to the account of `id_number`: per address, then per ID
    number (the latter also when the account does not exist, so that the answer does
    not tell)."""
    await codes_asked_from(ctx, address)
    await codes_sent(ctx, id_number)


async def code_guessed(ctx: Context, id_number: str, address: str) -> None:
    """Guesses of a one-time code, per ID number and per address, whoever asks."""
    limits = ctx.settings
    await hit(ctx, f"otp-guess-ip:{address}", limits.limit_otp_guesses_per_ip_hour, HOUR)
    await hit(ctx, f"otp-guess:{id_number}", limits.limit_otp_guesses_per_id_hour, HOUR)
