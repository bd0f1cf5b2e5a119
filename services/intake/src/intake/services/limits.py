"""intake's abuse limits (registration, codes, sign-in, submission, tracking), counted by
the shared fixed-window counters (`shared/db/limits.py`) in intake's own database."""

from __future__ import annotations

from datetime import timedelta

from intake.services.context import Context
from shared.db.limits import HOUR, MINUTE, QUARTER

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
]


async def hit(ctx: Context, bucket: str, limit: int, window: timedelta) -> None:
    """Count one hit in `bucket`; a 429 problem with Retry-After once over `limit`."""
    await ctx.limits.hit(ctx.db, bucket, limit, window)


async def hit_all(ctx: Context, *hits: tuple[str, int, timedelta]) -> None:
    """Count one hit in each `(bucket, limit, window)` at once (one statement); a 429
    problem once any is over its limit."""
    await ctx.limits.hit_all(ctx.db, *hits)


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
