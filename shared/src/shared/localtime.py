"""Moments as people in Vietnam read them, in messages, timelines and forms. Events carry
UTC; what a citizen or an officer reads is in Vietnam time."""

from __future__ import annotations

from datetime import datetime

from shared.contracts.events import VIETNAM


def local_date(at: datetime | None) -> str:
    """`01/12/2026`, or "" for no date."""
    return at.astimezone(VIETNAM).strftime("%d/%m/%Y") if at else ""


def local_moment(at: datetime | None) -> str:
    """`14:30 ngày 01/12/2026`, or "" for no date."""
    return at.astimezone(VIETNAM).strftime("%H:%M ngày %d/%m/%Y") if at else ""
