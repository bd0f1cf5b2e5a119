"""A local stand-in for the National Public Service Portal's synchronisation endpoint, as a
real HTTP server process (`python -m shared.testing.national --port 8095`): `make up`
starts it, and so do the tests (`running_national`).

- `POST /oauth/token`: OAuth2 client credentials (HTTP Basic or form fields) → a bearer
  token valid `--token-ttl` seconds;
- `POST /hoso`: one record, with a valid token; refused (422, the fields named) without
  the required fields or with dates not `yyyyMMddHHmmss`. A record is known by its
  `MaBanGhi`: the same record again is answered `{"duplicate": true}` and not recorded
  twice; a different record under an id already used is refused (409);
- `GET /received?ma_ho_so=CODE`: `{items: [{TrangThaiHoSo, received_at, record}],
  duplicates}` in arrival order;
- `POST /control` `{fail_next, timeout_next, timeout_seconds}`: answer the next N records
  with 503, or hold the next N for `timeout_seconds` before recording and answering
  (the client gives up first, then sends again: the duplicate case). `GET /control`
  reads the counters.

It keeps everything in memory: it is a test double, not a store.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shared.testing import infra

DEFAULT_CLIENT_ID = "dvc-bca"
# The development value every workflow process uses by default (config.development_secret).
DEFAULT_CLIENT_SECRET = "dvc-dev-national-client-secret-workflow-change-me-0123456789"  # noqa: S105
REQUIRED = ("MaBanGhi", "MaHoSo", "MaTTHC", "KenhThucHien", "NgayNopHoSo", "TrangThaiHoSo")
DATES = (
    "NgayNopHoSo", "NgayTiepNhan", "NgayHenTra", "NgayYeuCauBoSung", "NgayKetThucXuLy",
    "NgayTra", "NgayTuChoi",
)  # fmt: skip
_DATE = re.compile(r"^\d{14}$")


@dataclass
class _State:
    client_id: str
    client_secret: str
    token_ttl: float
    tokens: dict[str, float] = field(default_factory=dict)
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)
    duplicates: dict[str, int] = field(default_factory=dict)
    fail_next: int = 0
    timeout_next: int = 0
    timeout_seconds: float = 30.0
    requests: int = 0
    tokens_issued: int = 0


def _problem(status: int, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"status": status, "detail": detail, **extra}, status_code=status)


def _credentials(request: Request, form: dict[str, Any]) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return "", ""
        return user, password
    return str(form.get("client_id", "")), str(form.get("client_secret", ""))


def _invalid(record: Any) -> list[dict[str, str]]:
    if not isinstance(record, dict):
        return [{"field": "", "message": "a JSON object is expected"}]
    errors = [{"field": f, "message": "required"} for f in REQUIRED if record.get(f) in (None, "")]
    code = record.get("TrangThaiHoSo")
    if code not in (None, "") and (not isinstance(code, int) or not 1 <= code <= 10):
        errors.append({"field": "TrangThaiHoSo", "message": "an integer from 1 to 10"})
    for name in DATES:
        value = record.get(name)
        if value is not None and not (isinstance(value, str) and _DATE.match(value)):
            errors.append({"field": name, "message": "yyyyMMddHHmmss"})
    return errors


def create_app(client_id: str, client_secret: str, token_ttl: float = 300.0) -> FastAPI:
    app = FastAPI(title="National portal stand-in")
    state = _State(client_id, client_secret, token_ttl)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/oauth/token")
    async def token(request: Request) -> JSONResponse:
        form = dict(await request.form())
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        user, password = _credentials(request, form)
        if not (
            secrets.compare_digest(user, state.client_id)
            and secrets.compare_digest(password, state.client_secret)
        ):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        value = secrets.token_urlsafe(24)
        state.tokens[value] = time.monotonic() + state.token_ttl
        state.tokens_issued += 1
        return JSONResponse(
            {"access_token": value, "token_type": "Bearer", "expires_in": int(state.token_ttl)}
        )

    @app.post("/hoso")
    async def receive(request: Request) -> JSONResponse:
        state.requests += 1
        header = request.headers.get("authorization", "")
        bearer = header[7:] if header.lower().startswith("bearer ") else ""
        if state.tokens.get(bearer, 0.0) < time.monotonic():
            return _problem(401, "invalid or expired token")
        if state.fail_next > 0:
            state.fail_next -= 1
            return _problem(503, "told to fail")
        try:
            record = await request.json()
        except ValueError:
            return _problem(400, "not JSON")
        errors = _invalid(record)
        if errors:
            return _problem(422, "record refused", errors=errors)
        if state.timeout_next > 0:
            state.timeout_next -= 1
            # Received, answered too late: the client has given up by then.
            await asyncio.sleep(state.timeout_seconds)
        record_id = str(record["MaBanGhi"])
        known = state.by_id.get(record_id)
        if known is not None:
            if known != record:
                return _problem(409, "another record under this MaBanGhi")
            state.duplicates[record["MaHoSo"]] = state.duplicates.get(record["MaHoSo"], 0) + 1
            return JSONResponse({"accepted": True, "duplicate": True})
        state.by_id[record_id] = record
        state.items.append(
            {
                "TrangThaiHoSo": record["TrangThaiHoSo"],
                "received_at": datetime.now(UTC).isoformat(),
                "record": record,
            }
        )
        return JSONResponse({"accepted": True, "duplicate": False}, status_code=201)

    @app.get("/received")
    async def received(ma_ho_so: str) -> dict[str, Any]:
        items = [i for i in state.items if i["record"]["MaHoSo"] == ma_ho_so]
        return {"items": items, "duplicates": state.duplicates.get(ma_ho_so, 0)}

    @app.post("/control")
    async def control(request: Request) -> dict[str, Any]:
        body = await request.json()
        for name in ("fail_next", "timeout_next"):
            if name in body:
                setattr(state, name, int(body[name]))
        if "timeout_seconds" in body:
            state.timeout_seconds = float(body["timeout_seconds"])
        return await read_control()

    @app.get("/control")
    async def read_control() -> dict[str, Any]:
        return {
            "fail_next": state.fail_next,
            "timeout_next": state.timeout_next,
            "timeout_seconds": state.timeout_seconds,
            "requests": state.requests,
            "tokens_issued": state.tokens_issued,
        }

    return app


@dataclass
class NationalServer(infra.StandInServer):
    client_id: str
    client_secret: str


def argv(port: int, *, client_id: str, client_secret: str, token_ttl: float = 300.0) -> list[str]:
    return infra.stand_in_argv(
        "shared.testing.national", port, client_id=client_id, client_secret=client_secret,
        token_ttl=token_ttl,
    )  # fmt: skip


@contextmanager
def running_national(
    log: Path,
    *,
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    token_ttl: float = 300.0,
) -> Iterator[NationalServer]:
    """The stand-in as its own process on a free port, stopped afterwards."""

    def at(port: int) -> list[str]:
        return argv(port, client_id=client_id, client_secret=client_secret, token_ttl=token_ttl)

    with infra.stand_in_process(at, log, "the national stand-in") as url:
        yield NationalServer(url, client_id, client_secret)


def main() -> None:
    parser = infra.stand_in_arguments(__doc__, 8095)
    parser.add_argument(
        "--client-id", default=os.environ.get("NATIONAL_CLIENT_ID", DEFAULT_CLIENT_ID)
    )
    parser.add_argument(
        "--client-secret",
        default=os.environ.get("NATIONAL_CLIENT_SECRET", DEFAULT_CLIENT_SECRET),
    )
    parser.add_argument("--token-ttl", type=float, default=300.0)
    args = parser.parse_args()
    app = create_app(args.client_id, args.client_secret, args.token_ttl)
    infra.serve_stand_in(app, args)


if __name__ == "__main__":
    main()
