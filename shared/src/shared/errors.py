"""Why a use case refuses a request, without any web framework in sight.

Use cases and domain rules raise these; the HTTP edge (`shared.api.problems`) turns each
kind into its status and a problem+json body, and a consumer treats them like any other
failure. `detail` is the sentence the caller reads (Vietnamese for citizens); `errors`
names the fields at fault as `[{field, message}]`.
"""

from __future__ import annotations

from typing import Any


class Refused(Exception):
    """Base of every refusal a caller is told about."""

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        type_: str = "about:blank",
        title: str | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.type = type_
        self.title = title
        self.extensions = extensions


class BadRequest(Refused):
    """The request itself cannot be read (a header, a multipart body)."""


class Unauthenticated(Refused):
    """No valid sign-in where one is needed."""


class Forbidden(Refused):
    """Signed in, but this role or person may not do this."""


class NotFound(Refused):
    """No such thing, or not for this caller (another agency's dossier does not exist)."""


class Conflict(Refused):
    """Not possible in the thing's present state (the state machine says no)."""


class Gone(Refused):
    """Valid once, no longer (an expired one-time code)."""


class TooLarge(Refused):
    """More bytes than allowed."""


class Unsupported(Refused):
    """A file or body of a type that is not accepted."""


class Invalid(Refused):
    """Values that break a rule; `errors` says which fields."""


class Later(Refused):
    """A refusal that lifts by itself: `retry_after` seconds until a retry may succeed."""

    def __init__(self, detail: str, *, retry_after: int = 1, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.retry_after = retry_after


class Locked(Later):
    """The account is locked for a while (too many wrong passwords)."""


class TooMany(Later):
    """Too many attempts in a window."""


class Unavailable(Later):
    """A part the use case needs is away or saturated."""


def field_error(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def invalid_field(field: str, message: str) -> Invalid:
    """A refusal of one field, its message also the detail."""
    return Invalid(message, errors=[field_error(field, message)])


_MESSAGES = {
    "missing": "Trường này là bắt buộc.",
    "string_too_short": "Giá trị quá ngắn.",
    "string_too_long": "Giá trị quá dài.",
    "string_pattern_mismatch": "Giá trị không đúng định dạng.",
    "string_type": "Giá trị phải là chuỗi ký tự.",
    "int_parsing": "Giá trị phải là số nguyên.",
    "int_type": "Giá trị phải là số nguyên.",
    "bool_parsing": "Giá trị phải là đúng hoặc sai.",
    "date_from_datetime_parsing": "Ngày không đúng định dạng YYYY-MM-DD.",
    "date_parsing": "Ngày không đúng định dạng YYYY-MM-DD.",
    "datetime_parsing": "Thời điểm không đúng định dạng ISO 8601.",
    "enum": "Giá trị không nằm trong danh sách cho phép.",
    "literal_error": "Giá trị không nằm trong danh sách cho phép.",
    "greater_than_equal": "Giá trị quá nhỏ.",
    "less_than_equal": "Giá trị quá lớn.",
    "json_invalid": "Nội dung JSON không hợp lệ.",
    "uuid_parsing": "Mã định danh không hợp lệ.",
    "extra_forbidden": "Trường này không được phép.",
    "value_error": "Giá trị không hợp lệ.",
}


def field_errors(errors: list[Any]) -> list[dict[str, str]]:
    """pydantic errors as `[{field, message}]`, the field as a dotted path."""
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        message = _MESSAGES.get(err.get("type", ""), _MESSAGES["value_error"])
        ctx = err.get("ctx") or {}
        if err.get("type") == "value_error" and "error" in ctx:
            message = str(ctx["error"])
        out.append({"field": ".".join(loc) or "body", "message": message})
    return out


def invalid_fields(errors: list[Any], detail: str | None = None) -> Invalid:
    """A refusal of the fields pydantic found at fault (`ValidationError.errors()`)."""
    return Invalid(
        detail or "Dữ liệu gửi lên chưa hợp lệ, vui lòng kiểm tra các trường được đánh dấu.",
        errors=field_errors(errors),
    )
