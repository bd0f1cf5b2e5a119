"""The yearly calendars as workflow keeps them: the years shipped with the service, and
the review of an administrator's edit. Which days are working days is the common rule
of `shared.calendar`.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any

from shared.calendar import Calendar, YearCalendar, entry_order


def shipped_years() -> dict[int, YearCalendar]:
    """The years entered from the official notices, shipped with the service."""
    folder = resources.files("workflow") / "calendar_data"
    years = {}
    for item in folder.iterdir():
        if item.name.endswith(".json"):
            calendar = YearCalendar.from_json(json.loads(item.read_text(encoding="utf-8")))
            years[calendar.year] = calendar
    return years


# --- editing a year ------------------------------------------------------------------

FIXED_HOLIDAY_NAMES = {
    (1, 1): "Tết Dương lịch", (4, 30): "Ngày Chiến thắng", (5, 1): "Ngày Quốc tế lao động",
    (9, 2): "Quốc khánh",
}  # fmt: skip


def missing_statutory_holidays(calendar: YearCalendar) -> list[str]:
    """The fixed-date holidays of the Labour Code (art. 112) the year would make working
    days, in Vietnamese; empty when none. A holiday falling on a weekend needs no entry
    (the day is off anyway; its compensatory day is an entry of its own)."""
    national = Calendar({calendar.year: calendar})
    problems = []
    if not calendar.entries:
        problems.append(f"Lịch năm {calendar.year} không có ngày nghỉ nào.")
    for (month, day_), name in FIXED_HOLIDAY_NAMES.items():
        on = date(calendar.year, month, day_)
        if national.is_working_day(on):
            problems.append(f"Thiếu ngày nghỉ lễ {on:%d/%m/%Y} ({name}).")
    return problems


def _state(calendar: YearCalendar | None) -> dict[date, set[tuple[str | None, str, str | None]]]:
    """Per day, what the entries make of it (agency, kind, half): names do not count."""
    state: dict[date, set[tuple[str | None, str, str | None]]] = {}
    for entry in calendar.entries if calendar else ():
        state.setdefault(entry.day, set()).add((entry.agency_code, entry.kind.value, entry.half))
    return state


@dataclass(frozen=True)
class EditReview:
    """What an edit of a year changes, and what of it needs the administrator's explicit
    confirmation: days already begun (dossiers were counted with them) and days on which
    announced due dates fall (citizens were given those dates)."""

    changed: tuple[date, ...]
    past: tuple[date, ...]
    announced: tuple[date, ...]

    @property
    def needs_confirmation(self) -> bool:
        return bool(self.past or self.announced)

    def reason(self) -> str:
        """Why the edit must be confirmed, in Vietnamese."""
        parts = []
        if self.past:
            parts.append("các ngày đã qua " + _days(self.past))
        if self.announced:
            parts.append("các ngày đã hẹn trả kết quả " + _days(self.announced))
        return (
            "Thay đổi lịch làm việc ảnh hưởng " + " và ".join(parts)
            + ". Hãy kiểm tra lại và gửi kèm confirm: true để xác nhận."
        )  # fmt: skip


def _days(days: Collection[date]) -> str:
    return ", ".join(f"{d:%d/%m/%Y}" for d in sorted(days))


def review_edit(
    old: YearCalendar | None, new: YearCalendar, *, today: date, announced: Collection[date]
) -> EditReview:
    """The days whose entries the edit changes; among them those up to `today` (begun) and
    those in `announced` (due dates already given to citizens)."""
    before, after = _state(old), _state(new)
    changed = tuple(sorted(d for d in before.keys() | after.keys()
                           if before.get(d, set()) != after.get(d, set())))  # fmt: skip
    return EditReview(
        changed=changed,
        past=tuple(d for d in changed if d <= today),
        announced=tuple(d for d in changed if d in set(announced)),
    )


def describe_changes(old: YearCalendar | None, new: YearCalendar) -> list[dict[str, Any]]:
    """The audit's record of an edit: each entry removed and added."""
    old_entries = set(old.entries) if old else set()
    new_entries = set(new.entries)
    return [
        {"change": change, **entry.to_json()}
        for change, entries in (("removed", old_entries - new_entries),
                                ("added", new_entries - old_entries))
        for entry in sorted(entries, key=entry_order)
    ]  # fmt: skip
