"""Text a database cannot store, refused wherever it comes in (a JSON string, a query, a
multipart field): NUL (PostgreSQL text cannot hold it) and unpaired surrogates (not
encodable as UTF-8)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def text_problem(value: str) -> str | None:
    """Why a string cannot be accepted, or None."""
    if "\x00" in value:
        return "Không được chứa ký tự NUL."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Chứa ký tự không hợp lệ."
    return None


def json_problems(
    value: Any, *, max_depth: int = 32, max_string: int = 100_000
) -> Iterator[tuple[str, str]]:
    """`(field, message)` for what in a parsed JSON document a database refuses or breaks
    the limits (read by the request guard, and by a use case reading a JSON part of a
    multipart body, which the guard leaves to it)."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > max_depth:
            yield path or "body", "Dữ liệu lồng nhau quá sâu."
            continue
        if isinstance(item, str):
            if len(item) > max_string:
                yield path or "body", "Giá trị quá dài."
            elif (why := text_problem(item)) is not None:
                yield path or "body", why
        elif isinstance(item, dict):
            for key, child in item.items():
                name = f"{path}.{key}" if path else str(key)
                if (why := text_problem(key)) is not None:
                    yield path or "body", why
                    continue
                stack.append((child, name, depth + 1))
        elif isinstance(item, list):
            stack.extend(
                (child, f"{path}.{i}" if path else str(i), depth + 1)
                for i, child in enumerate(item)
            )
