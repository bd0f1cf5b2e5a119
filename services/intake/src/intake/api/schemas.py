"""Schema parts every intake router uses."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema


class Strict(BaseModel):
    """A request body: a field the contract does not know is a mistake, not to be ignored."""

    model_config = ConfigDict(extra="forbid")


# A string, not a datetime: answered exactly as the use case wrote it (`isoformat()`, with
# `+00:00`), which a datetime field would rewrite with `Z`.
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]

# The dates the citizen is shown of a dossier, on its page and on the public tracking
# page alike: described once.
SupplementDueAt = Annotated[
    Timestamp | None,
    Field(description="While a supplement is awaited: the citizen's deadline for it."),
]
WorkingDaysLeft = Annotated[
    int | None,
    Field(
        description="While the processing clock runs: the working days after today up to "
        "the due date's day (0 on the due day, negative once late); null otherwise."
    ),
]

Item = TypeVar("Item", bound=BaseModel)


class PageRead(BaseModel, Generic[Item]):
    items: list[Item]
    next_cursor: str | None = Field(description="`cursor` for the next page; null on the last.")
