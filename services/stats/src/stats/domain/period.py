"""A report's period: whole Vietnam-time days, the last one included, as people write
periods; at most five years, so a report stays a few rows per counter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.errors import invalid_field

MAX_DAYS = 366 * 5


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    def check(self) -> None:
        """Invalid, naming the field at fault, unless the period can be reported on."""
        if self.end < self.start:
            raise invalid_field("to", "Ngày kết thúc phải sau ngày bắt đầu kỳ báo cáo.")
        if (self.end - self.start).days > MAX_DAYS:
            raise invalid_field("from", "Kỳ báo cáo dài tối đa 5 năm.")
