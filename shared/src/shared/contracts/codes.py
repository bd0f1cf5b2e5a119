"""Dossier codes and update codes (DOMAIN.md, "Dossier code and statuses"), for both
services that issue them.

A code is `AGENCY-yyMMdd-NNNN…`: the agency's e-ID, the day in Vietnam time and a
sequence of that agency's day. Two services issue codes without asking each other:
intake for dossiers submitted online, workflow for paper dossiers registered at the
one-stop desk (it must answer the receiver at once, and the services talk only through
events). Each keeps its own per-agency-day counter, and the sequence space is split so
that the two can never give the same code: online codes take 1–89999, desk codes
90001–99999 (90000 is left unused as a visible border).
"""

from __future__ import annotations

import re
import secrets
from datetime import date
from typing import Literal

AGENCY_CODE = re.compile(r"^[A-Z]\d{2}(\.\d{3})*$")
DOSSIER_CODE = re.compile(r"^(?P<agency>[A-Z]\d{2}(?:\.\d{3})*)-(?P<day>\d{6})-(?P<seq>\d{4,})$")

Issuer = Literal["online", "desk"]

# The sequence range of each issuer, both ends included.
SEQUENCES: dict[Issuer, tuple[int, int]] = {"online": (1, 89_999), "desk": (90_001, 99_999)}

# No 0/O, 1/I/L: an update code is read from an SMS or a printed receipt and typed on a phone.
_UPDATE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
UPDATE_CODE_LENGTH = 8


class SequenceExhausted(Exception):
    """The issuer has given every number of its range for that agency and day."""


def dossier_code(agency_code: str, day: date, sequence: int) -> str:
    """`G01.308.000.000-220616-0100`: agency e-ID, yyMMdd (Vietnam time), sequence of that day."""
    if not AGENCY_CODE.match(agency_code):
        raise ValueError(f"not an agency e-ID: {agency_code!r}")
    if sequence < 1:
        raise ValueError("sequences start at 1")
    return f"{agency_code}-{day:%y%m%d}-{sequence:04d}"


def issued_code(issuer: Issuer, agency_code: str, day: date, nth: int) -> str:
    """The code of the issuer's `nth` dossier (1, 2, …) of the agency's day, its sequence
    taken in the issuer's own range; SequenceExhausted past the range's end."""
    first, last = SEQUENCES[issuer]
    if nth < 1:
        raise ValueError("counters start at 1")
    sequence = first + nth - 1
    if sequence > last:
        raise SequenceExhausted(f"{issuer} codes of {agency_code} on {day} are exhausted")
    return dossier_code(agency_code, day, sequence)


def issuer_of(code: str) -> Issuer | None:
    """Who issued a well-formed code, by its sequence; None for a malformed one or a
    sequence in neither range."""
    match = DOSSIER_CODE.match(code)
    if match is None:
        return None
    sequence = int(match["seq"])
    for issuer, (first, last) in SEQUENCES.items():
        if first <= sequence <= last:
            return issuer
    return None


def new_update_code() -> str:
    return "".join(secrets.choice(_UPDATE_ALPHABET) for _ in range(UPDATE_CODE_LENGTH))
