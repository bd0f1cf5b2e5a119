"""Dossier codes and update codes (DOMAIN.md, "Dossier code and statuses")."""

from __future__ import annotations

import re
import secrets
from datetime import date

AGENCY_CODE = re.compile(r"^[A-Z]\d{2}(\.\d{3})*$")
DOSSIER_CODE = re.compile(r"^(?P<agency>[A-Z]\d{2}(?:\.\d{3})*)-(?P<day>\d{6})-(?P<seq>\d{4,})$")

# No 0/O, 1/I/L: an update code is read from an SMS and typed on a phone.
_UPDATE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def dossier_code(agency_code: str, day: date, sequence: int) -> str:
    """`G01.308.000.000-220616-0100`: agency e-ID, yyMMdd (Vietnam time), sequence of that day."""
    if not AGENCY_CODE.match(agency_code):
        raise ValueError(f"not an agency e-ID: {agency_code!r}")
    if sequence < 1:
        raise ValueError("sequences start at 1")
    return f"{agency_code}-{day:%y%m%d}-{sequence:04d}"


def new_update_code() -> str:
    return "".join(secrets.choice(_UPDATE_ALPHABET) for _ in range(8))
