"""Text a database cannot store, refused wherever it comes in (a JSON string, a query, a
multipart field): NUL (PostgreSQL text cannot hold it) and unpaired surrogates (not
encodable as UTF-8)."""

from __future__ import annotations


def text_problem(value: str) -> str | None:
    """Why a string cannot be accepted, or None."""
    if "\x00" in value:
        return "Không được chứa ký tự NUL."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Chứa ký tự không hợp lệ."
    return None
