"""The `Idempotency-Key` header of the POSTs that create or submit (API.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

# The lengths `IdempotencyKeys.once` accepts; another key is refused with 400 there, so
# they are documented here rather than checked twice.
_LENGTHS = {"minLength": 1, "maxLength": 200}

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="The same key with the same body: the same answer, and no second effect.",
        json_schema_extra=_LENGTHS,
    ),
]
