"""SMS text as Vietnamese gateways take it.

SMS are sent unaccented, in the GSM-7 alphabet: Vietnamese brand-name SMS gateways bill
and accept messages by 160-character GSM-7 segments (153 when concatenated), while an
accented message must go as UCS-2 at 70 characters a segment (67 concatenated), so it
costs two to three times as much and several gateways refuse it for brand names. Email
keeps the diacritics. A message is limited to a few segments (3 by default: 459
characters); a longer one is shortened in its free text, never in its dossier code.
"""

from __future__ import annotations

import unicodedata

GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Characters that take two septets (an escape and the character).
GSM7_EXTENDED = set("^{}\\[~]|€")
SEGMENT = 160
CONCATENATED_SEGMENT = 153


def unaccent(text: str) -> str:
    """Vietnamese without diacritics ("Đăng ký" → "Dang ky"), other non-GSM-7 characters
    replaced by their closest ASCII or dropped."""
    text = text.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    plain = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    plain = plain.replace("–", "-").replace("—", "-").replace("“", '"').replace("”", '"')
    plain = plain.replace("’", "'").replace("…", "...")
    return "".join(c for c in plain if c in GSM7 or c in GSM7_EXTENDED)


def septets(text: str) -> int:
    return sum(2 if c in GSM7_EXTENDED else 1 for c in text)


def segments(text: str) -> int:
    """GSM-7 segments the text takes."""
    length = septets(text)
    if length <= SEGMENT:
        return 1
    return -(-length // CONCATENATED_SEGMENT)


def max_length(max_segments: int) -> int:
    return SEGMENT if max_segments == 1 else max_segments * CONCATENATED_SEGMENT


def fit_sms(text: str, max_segments: int) -> str:
    """The text unaccented and cut to `max_segments` (with "..." where it was cut)."""
    plain = unaccent(text)
    limit = max_length(max_segments)
    while septets(plain) > limit:
        plain = plain[: limit - 3 - (septets(plain) - len(plain))].rstrip() + "..."
    return plain
