"""Dates and moments a request may name: of the years the system reasons about
(`shared.dates`), else refused as invalid input (422 naming the field) before any use case
sees them. The range is in the OpenAPI schema as well."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, WithJsonSchema

from shared.dates import within_range

# JSON Schema bounds no date, so the range is a pattern beside the format: a day of the
# years 2000 to 2100. The whole value, not only its year: a generator told only the year
# draws dates of any year and discards nearly all.
_DAY = r"(20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?"
_OFFSET = r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"


Day = Annotated[
    date,
    AfterValidator(within_range),
    WithJsonSchema({"type": "string", "format": "date", "pattern": f"^{_DAY}$"}),
]
Moment = Annotated[
    AwareDatetime,
    AfterValidator(within_range),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "pattern": f"^{_DAY}T{_TIME}{_OFFSET}$"}
    ),
]
