"""Errors as `application/problem+json` (RFC 9457), with Vietnamese text for citizens.

Raise `Problem(...)` from a route or use case; validation errors of request bodies are
turned into a 422 problem with one `{field, message}` per error.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Yêu cầu không hợp lệ",
    401: "Chưa đăng nhập hoặc phiên đăng nhập đã hết hạn",
    403: "Không có quyền thực hiện thao tác này",
    404: "Không tìm thấy",
    405: "Phương thức không được hỗ trợ",
    409: "Thao tác không phù hợp với trạng thái hiện tại",
    413: "Dữ liệu gửi lên quá lớn",
    415: "Định dạng không được hỗ trợ",
    422: "Dữ liệu không hợp lệ",
    429: "Quá nhiều yêu cầu, vui lòng thử lại sau",
    500: "Lỗi hệ thống, vui lòng thử lại sau",
    503: "Dịch vụ tạm thời không sẵn sàng",
}

# Vietnamese messages for pydantic's error types; anything else gets the generic one.
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


class Problem(Exception):
    """An error answered as problem+json."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        type_: str = "about:blank",
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or _TITLES.get(status, "Lỗi")
        self.type = type_
        self.errors = errors
        self.headers = headers
        self.extensions = extensions

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extensions,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        return JSONResponse(
            body, status_code=self.status, media_type=PROBLEM_JSON, headers=self.headers
        )


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


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return Problem(
            422,
            "Dữ liệu gửi lên chưa hợp lệ, vui lòng kiểm tra các trường được đánh dấu.",
            errors=field_errors(list(exc.errors())),
        ).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Starlette's own errors (unknown route, wrong method) carry an English phrase.
        own = isinstance(exc.detail, str) and exc.detail != HTTPStatus(exc.status_code).phrase
        detail = exc.detail if own else _TITLES.get(exc.status_code, "Lỗi")
        headers = dict(exc.headers) if exc.headers else None
        return Problem(exc.status_code, detail, headers=headers).response()

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        return Problem(500, "Đã có lỗi xảy ra; yêu cầu chưa được thực hiện.").response()
