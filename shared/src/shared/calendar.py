"""Which days are working days: the yearly calendars as data, never as lunar arithmetic,
and the count of working days to a due date.

Workflow keeps the calendars (an administrator enters each year from the official
notice) and computes the deadlines; intake receives them (`calendar.published`) to tell
the citizen how many working days are left. Both read the days through this one module.

A year holds holidays, compensatory days off, Saturdays made working days in exchange for
a bridge day off, and half days (Labour Code 2019 art. 112 and the yearly notices). An
entry may concern one agency (and its sub-units) only.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from shared.contracts.events import VIETNAM

Half = Literal["morning", "afternoon"]


class EntryKind(StrEnum):
    HOLIDAY = "holiday"
    COMPENSATORY_DAY_OFF = "compensatory_day_off"
    SWAPPED_WORKING_DAY = "swapped_working_day"
    HALF_DAY = "half_day"


OFF_KINDS = {EntryKind.HOLIDAY, EntryKind.COMPENSATORY_DAY_OFF}

# When a year has not been entered yet, only the solar-calendar holidays are known for
# sure; Tết and Hùng Kings' day move with the lunar calendar and must be entered.
FIXED_HOLIDAYS = ((1, 1), (4, 30), (5, 1), (9, 2))


@dataclass(frozen=True)
class CalendarEntry:
    day: date
    kind: EntryKind
    name: str
    # For a half day: the half that is off.
    half: Half | None = None
    agency_code: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "kind": self.kind.value,
            "name": self.name,
            "half": self.half,
            "agency_code": self.agency_code,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CalendarEntry:
        return cls(
            day=date.fromisoformat(data["day"]),
            kind=EntryKind(data["kind"]),
            name=str(data["name"]),
            half=data.get("half"),
            agency_code=data.get("agency_code"),
        )


@dataclass(frozen=True)
class YearCalendar:
    year: int
    entries: tuple[CalendarEntry, ...]
    # The official notice the year was entered from.
    source: str = ""

    def validate(self) -> list[str]:
        """What is wrong with the year, in Vietnamese; empty when it can be used."""
        problems: list[str] = []
        seen: set[tuple[date, str | None]] = set()
        for entry in self.entries:
            where = f"Ngày {entry.day:%d/%m/%Y}"
            if entry.day.year != self.year:
                problems.append(f"{where} không thuộc năm {self.year}.")
            if (entry.day, entry.agency_code) in seen:
                problems.append(f"{where} được nhập hai lần.")
            seen.add((entry.day, entry.agency_code))
            weekend = entry.day.weekday() >= 5
            if entry.kind is EntryKind.SWAPPED_WORKING_DAY and not weekend:
                problems.append(f"{where}: ngày làm bù phải là thứ Bảy hoặc Chủ nhật.")
            if entry.kind is EntryKind.COMPENSATORY_DAY_OFF and weekend:
                problems.append(f"{where}: ngày nghỉ bù phải là ngày làm việc trong tuần.")
            if entry.kind is EntryKind.HALF_DAY and entry.half not in ("morning", "afternoon"):
                problems.append(f"{where}: nghỉ nửa ngày phải ghi rõ buổi sáng hay buổi chiều.")
            if entry.kind is not EntryKind.HALF_DAY and entry.half is not None:
                problems.append(f"{where}: chỉ ngày nghỉ nửa ngày mới ghi buổi.")
            if not entry.name.strip():
                problems.append(f"{where}: thiếu tên ngày nghỉ hoặc ngày làm bù.")
        return problems

    def to_json(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "source": self.source,
            "entries": [e.to_json() for e in sorted(self.entries, key=entry_order)],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> YearCalendar:
        return cls(
            year=int(data["year"]),
            source=str(data.get("source", "")),
            entries=tuple(CalendarEntry.from_json(e) for e in data["entries"]),
        )


def entry_order(entry: CalendarEntry) -> tuple[date, str]:
    return entry.day, entry.agency_code or ""


@dataclass(frozen=True)
class Calendar:
    """The calendar seen by one agency: `agency_codes` are the agency and its ancestors,
    so an entry made for a province applies to its districts and communes too."""

    years: Mapping[int, YearCalendar]
    agency_codes: Collection[str] = ()
    _entries: dict[date, CalendarEntry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        entries: dict[date, CalendarEntry] = {}
        for calendar in self.years.values():
            # Agency-specific entries are applied last: they override the national ones.
            for entry in sorted(calendar.entries, key=lambda e: e.agency_code is not None):
                if entry.agency_code is None or entry.agency_code in self.agency_codes:
                    entries[entry.day] = entry
        object.__setattr__(self, "_entries", entries)

    def kind_of(self, day: date) -> EntryKind | None:
        entry = self._entries.get(day)
        if entry is not None:
            return entry.kind
        if day.year not in self.years and (day.month, day.day) in FIXED_HOLIDAYS:
            return EntryKind.HOLIDAY
        return None

    def is_working_day(self, day: date) -> bool:
        kind = self.kind_of(day)
        if kind in OFF_KINDS:
            return False
        if kind in (EntryKind.SWAPPED_WORKING_DAY, EntryKind.HALF_DAY):
            return True
        return day.weekday() < 5

    def off_half(self, day: date) -> Half | None:
        entry = self._entries.get(day)
        return entry.half if entry is not None and entry.kind is EntryKind.HALF_DAY else None


def working_days_left(calendar: Calendar, due_at: datetime, now: datetime) -> int:
    """The working days the citizen is told are left, counted in whole days of Vietnam
    time: the working days after today up to the due date's day (0 on the due day itself,
    1 when it is the next working day), or, once that day has passed, minus the working
    days since it. A half day counts as a day: the due date can fall on it."""
    if due_at.tzinfo is None or now.tzinfo is None:
        raise ValueError("times must carry their time zone")
    today, due = now.astimezone(VIETNAM).date(), due_at.astimezone(VIETNAM).date()
    first, last, sign = (today, due, 1) if due >= today else (due, today, -1)
    days = sum(
        calendar.is_working_day(first + timedelta(days=n))
        for n in range(1, (last - first).days + 1)
    )
    return sign * days
