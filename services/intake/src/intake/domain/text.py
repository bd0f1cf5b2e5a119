"""Search text: Vietnamese folded to plain lower-case ASCII, so that "dang ky tam tru",
"Đăng ký tạm trú" and "ĐĂNG KÝ TẠM TRÚ" all match."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.lower().split())
