"""Which days are working days: the yearly calendar as data, never as lunar arithmetic.

An administrator enters each year from the official notice (the Prime Minister's and
the Ministry of Labour's yearly notices on public holidays, Labour Code 2019 art. 112):
holidays, compensatory days off, Saturdays made working days in exchange for a bridge
day off, and half days. An entry may concern one agency (and its sub-units) only.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from importlib import resources
from typing import Any, Literal

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
            "entries": [e.to_json() for e in sorted(self.entries, key=_entry_order)],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> YearCalendar:
        return cls(
            year=int(data["year"]),
            source=str(data.get("source", "")),
            entries=tuple(CalendarEntry.from_json(e) for e in data["entries"]),
        )


def _entry_order(entry: CalendarEntry) -> tuple[date, str]:
    return entry.day, entry.agency_code or ""


def shipped_years() -> dict[int, YearCalendar]:
    """The years entered from the official notices, shipped with the service."""
    folder = resources.files("workflow") / "calendar_data"
    years = {}
    for item in folder.iterdir():
        if item.name.endswith(".json"):
            calendar = YearCalendar.from_json(json.loads(item.read_text(encoding="utf-8")))
            years[calendar.year] = calendar
    return years


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
        for entry in sorted(entries, key=_entry_order)
    ]  # fmt: skip
