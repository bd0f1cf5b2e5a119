"""intake's abuse limits (registration, codes, sign-in, submission, tracking), counted by
the shared fixed-window counters (`shared/db/limits.py`) in intake's own database."""

from __future__ import annotations

from datetime import timedelta

from intake.adapters.tables import rate_limits
from intake.services.context import Context
from shared.db.limits import HOUR, MINUTE, QUARTER, RateLimits

__all__ = ["HOUR", "MINUTE", "QUARTER", "hit"]


async def hit(ctx: Context, bucket: str, limit: int, window: timedelta) -> None:
    """Count one hit in `bucket`; a 429 problem with Retry-After once over `limit`."""
    limits = RateLimits(rate_limits, ctx.settings.secret("jwt_secret"))
    await limits.hit(ctx.db, bucket, limit, window)
