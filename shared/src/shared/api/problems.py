"""Errors as `application/problem+json` (RFC 9457), with Vietnamese text for citizens.

Use cases raise the framework-free refusals of `shared.errors`; this edge answers each
with its status. Validation errors of request bodies become a 422 problem with one
`{field, message}` per error.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match, Route

from shared import errors
from shared.db.engine import unavailable as database_unavailable
from shared.errors import field_errors
from shared.observability.metrics import ServiceMetrics
from shared.storage.store import unavailable as store_unavailable

PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: "Yêu cầu không hợp lệ",
    401: "Chưa đăng nhập hoặc phiên đăng nhập đã hết hạn",
    403: "Không có quyền thực hiện thao tác này",
    404: "Không tìm thấy",
    405: "Phương thức không được hỗ trợ",
    409: "Thao tác không phù hợp với trạng thái hiện tại",
    410: "Không còn hiệu lực",
    413: "Dữ liệu gửi lên quá lớn",
    415: "Định dạng không được hỗ trợ",
    422: "Dữ liệu không hợp lệ",
    423: "Tạm thời bị khóa",
    429: "Quá nhiều yêu cầu, vui lòng thử lại sau",
    500: "Lỗi hệ thống, vui lòng thử lại sau",
    503: "Dịch vụ tạm thời không sẵn sàng",
}

# Vietnamese messages for pydantic's error types; anything else gets the generic one.


# FastAPI's refusal of a body it cannot decode (not JSON text, not UTF-8), in English.
_UNREADABLE_BODY = "There was an error parsing the body"

# Each kind of refusal and the status it is answered with.
STATUS: dict[type[errors.Refused], int] = {
    errors.BadRequest: 400,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Gone: 410,
    errors.TooLarge: 413,
    errors.Unsupported: 415,
    errors.Invalid: 422,
    errors.Locked: 423,
    errors.TooMany: 429,
    errors.Unavailable: 503,
}


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    type_: str = "about:blank",
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """A problem+json answer."""
    body: dict[str, Any] = {
        "type": type_,
        "title": title or TITLES.get(status, "Lỗi"),
        "status": status,
        "detail": detail,
        **extensions,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def refusal_response(exc: errors.Refused) -> JSONResponse:
    """The answer to a use case's refusal: its kind gives the status and headers."""
    status = next(code for kind, code in STATUS.items() if isinstance(exc, kind))
    headers: dict[str, str] = {}
    extensions = dict(exc.extensions)
    if isinstance(exc, errors.Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, errors.Later):
        headers["Retry-After"] = str(exc.retry_after)
        extensions["retry_after"] = exc.retry_after
    return problem(
        status, exc.detail, title=exc.title, type_=exc.type, errors=exc.errors,
        headers=headers or None, **extensions,
    )  # fmt: skip


def allowed_methods(routes: list[BaseRoute], request: Request) -> list[str]:
    """Every method some route serves at the request's path."""
    methods: set[str] = set()
    for route in routes:
        if isinstance(route, Route) and route.methods:
            match, _ = route.matches(request.scope)
            if match != Match.NONE:
                methods |= route.methods
    return sorted(methods)


def install_problem_handlers(app: FastAPI, metrics: ServiceMetrics | None = None) -> None:
    @app.exception_handler(errors.Refused)
    async def _refused(_: Request, exc: errors.Refused) -> JSONResponse:
        return refusal_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(
            422,
            "Dữ liệu gửi lên chưa hợp lệ, vui lòng kiểm tra các trường được đánh dấu.",
            errors=field_errors(list(exc.errors())),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Starlette's own errors (unknown route, wrong method) carry an English phrase.
        own = isinstance(exc.detail, str) and exc.detail != HTTPStatus(exc.status_code).phrase
        detail = exc.detail if own else TITLES.get(exc.status_code, "Lỗi")
        if exc.detail == _UNREADABLE_BODY:
            detail = "Không đọc được nội dung gửi lên: sai định dạng hoặc không phải UTF-8."
        headers = dict(exc.headers) if exc.headers else {}
        if exc.status_code == 405:
            # Starlette names the methods of the one route it tried, not of the resource.
            headers["Allow"] = ", ".join(allowed_methods(request.app.router.routes, request))
        return problem(exc.status_code, detail, headers=headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        if store_unavailable(exc):
            # The file store away (before the database's check, which takes any OSError
            # on the chain as its own): nothing of the request was kept (a file it may have
            # received has no row, and the sweeper removes it); the same request later works.
            if metrics is not None:
                metrics.shed_requests.labels("store").inc()
            return problem(
                503, "Kho lưu trữ tệp tạm thời không sẵn sàng, vui lòng gửi lại sau ít phút.",
                headers={"Retry-After": "5"},
            )  # fmt: skip
        if database_unavailable(exc):
            # Saturated or away: the caller should come back, not report a fault.
            if metrics is not None:
                metrics.shed_requests.labels("database").inc()
            return problem(
                503, "Hệ thống đang bận, vui lòng thử lại sau ít giây.",
                headers={"Retry-After": "2"},
            )  # fmt: skip
        return problem(500, "Đã có lỗi xảy ra; yêu cầu chưa được thực hiện.")
