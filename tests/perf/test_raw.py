"""The raw limits, measured first (see raw.py); every later figure is a ratio of one."""

from __future__ import annotations

from tests.perf.raw import RawLimits


async def test_raw_limits(raw_limits: RawLimits) -> None:
    assert raw_limits.publish.rate > 0
