"""Moments as the official forms and letters write them, in Vietnam time."""

from __future__ import annotations

from datetime import datetime

from shared.contracts.events import VIETNAM

DOTS = "……………………………"


def moment(at: datetime | None) -> str:
    """'15 giờ 30 phút, ngày 24/11/2026' in Vietnam time; dots when unknown."""
    if at is None:
        return DOTS
    local = at.astimezone(VIETNAM)
    return f"{local.hour} giờ {local.minute:02d} phút, ngày {local:%d/%m/%Y}"
