"""A local sandbox payment gateway speaking the signed-redirect and signed-notification
protocol of VNPAY 2.1 (shared/payment_gateway.py), as a real HTTP server process
(`python -m shared.testing.gateway --port 8096`): `make up` starts it, and so do the
tests (`running_gateway`). The protocol is described in docs/PAYMENTS.md.

- `GET /paymentv2/vpcpay.html?vnp_...`: the citizen's browser, sent by the merchant with
  signed parameters; a forged or incomplete request is refused (400). Answers the
  "bank" page, where the payment is approved or declined;
- `POST /paymentv2/decide` (form `vnp_TxnRef`, `decision=approve|decline`): the bank's
  decision. The gateway sends its signed notification (IPN) to the merchant's IPN URL,
  server to server, then redirects the browser to the merchant's return URL with the
  same signed parameters;
- `GET /merchant_webapi/report?vnp_TmnCode=&vnp_Date=yyyyMMdd&vnp_SecureHash=`: the
  signed daily report of the transactions decided that day (Vietnam time), for
  reconciliation;
- `POST /control` `{ipn_url, duplicate_next, late_next, late_seconds, forge_next,
  drop_next}`: where notifications go, and what to do to the next ones: send twice,
  send `late_seconds` after the browser is redirected, sign with a wrong key, or never
  send (a notification lost: the bank took the money, the merchant never heard);
- `GET /notifications?txn_ref=`: every notification sent, with the merchant's answer.

It keeps everything in memory: it is a test double, not a store.
"""

from __future__ import annotations

import asyncio
import html
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from shared import payment_gateway as protocol
from shared.testing import infra

DEFAULT_TMN_CODE = "DVCBCA01"
# The development value every intake process uses by default (config.development_secret).
DEFAULT_HASH_SECRET = "dvc-dev-gateway-hash-secret-intake-change-me-0123456789"  # noqa: S105
REQUIRED = (
    "vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_Amount", "vnp_CurrCode", "vnp_TxnRef",
    "vnp_OrderInfo", "vnp_ReturnUrl", "vnp_CreateDate", "vnp_IpAddr", "vnp_Locale",
)  # fmt: skip


@dataclass
class _State:
    tmn_code: str
    secret: str
    ipn_url: str
    orders: dict[str, dict[str, str]] = field(default_factory=dict)
    # Decided transactions by TxnRef: the notification's parameters (signed correctly).
    decided: dict[str, dict[str, str]] = field(default_factory=dict)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    duplicate_next: int = 0
    late_next: int = 0
    late_seconds: float = 2.0
    forge_next: int = 0
    drop_next: int = 0
    transaction_no: int = 14_000_000
    background: set[asyncio.Task[None]] = field(default_factory=set)


def _take(state: _State, name: str) -> bool:
    if getattr(state, name) > 0:
        setattr(state, name, getattr(state, name) - 1)
        return True
    return False


def _page(order: dict[str, str]) -> str:
    amount = int(order["vnp_Amount"]) // 100
    ref = html.escape(order["vnp_TxnRef"])
    return f"""<!doctype html><html lang="vi"><head><meta charset="utf-8">
<title>Cổng thanh toán thử nghiệm</title></head><body>
<h1>Cổng thanh toán thử nghiệm</h1>
<p>Đơn hàng <b>{ref}</b>: {html.escape(order["vnp_OrderInfo"])}</p>
<p>Số tiền: <b>{amount:,} VND</b></p>
<form method="post" action="/paymentv2/decide">
<input type="hidden" name="vnp_TxnRef" value="{ref}">
<button name="decision" value="approve">Ngân hàng chấp nhận</button>
<button name="decision" value="decline">Từ chối</button>
</form></body></html>"""


def create_app(tmn_code: str, secret: str, ipn_url: str) -> FastAPI:
    app = FastAPI(title="Payment gateway sandbox")
    state = _State(tmn_code, secret, ipn_url)

    async def notify(params: dict[str, str], *, forged: bool) -> None:
        entry: dict[str, Any] = {
            "txn_ref": params["vnp_TxnRef"], "params": params, "forged": forged,
            "sent_at": datetime.now(UTC).isoformat(), "status_code": None, "answer": None,
        }  # fmt: skip
        state.notifications.append(entry)
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                answer = await client.post(state.ipn_url, data=params)
            entry["status_code"] = answer.status_code
            entry["answer"] = answer.json()
        except (httpx.HTTPError, ValueError) as failure:
            entry["answer"] = {"error": repr(failure)}

    async def notify_later(params: dict[str, str], delay: float) -> None:
        await asyncio.sleep(delay)
        await notify(params, forged=False)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/paymentv2/vpcpay.html")
    async def pay(request: Request) -> Response:
        params = dict(request.query_params)
        missing = [name for name in REQUIRED if not params.get(name)]
        if missing:
            return HTMLResponse(f"Thiếu tham số: {', '.join(missing)}", status_code=400)
        if not protocol.verifies(state.secret, params) or params["vnp_TmnCode"] != state.tmn_code:
            return HTMLResponse("Sai chữ ký (code 97)", status_code=400)
        if not params["vnp_Amount"].isdigit() or params["vnp_Command"] != "pay":
            return HTMLResponse("Tham số không hợp lệ", status_code=400)
        if params["vnp_TxnRef"] in state.decided:
            return HTMLResponse("Giao dịch đã được xử lý", status_code=409)
        state.orders[params["vnp_TxnRef"]] = params
        return HTMLResponse(_page(params))

    @app.post("/paymentv2/decide")
    async def decide(request: Request) -> Response:
        form = dict(await request.form())
        order = state.orders.pop(str(form.get("vnp_TxnRef", "")), None)
        if order is None:
            return HTMLResponse("Không tìm thấy giao dịch", status_code=404)
        approved = form.get("decision") == "approve"
        state.transaction_no += 1
        code = protocol.APPROVED if approved else protocol.CANCELLED
        unsigned = {
            "vnp_TmnCode": state.tmn_code, "vnp_Amount": order["vnp_Amount"],
            "vnp_BankCode": "NCB", "vnp_BankTranNo": f"VNP{state.transaction_no}",
            "vnp_CardType": "ATM", "vnp_OrderInfo": order["vnp_OrderInfo"],
            "vnp_PayDate": protocol.gateway_time(datetime.now(UTC)),
            "vnp_ResponseCode": code, "vnp_TransactionNo": str(state.transaction_no),
            "vnp_TransactionStatus": "00" if approved else "02", "vnp_TxnRef": order["vnp_TxnRef"],
        }  # fmt: skip
        params = protocol.sign(state.secret, unsigned)
        state.decided[order["vnp_TxnRef"]] = params
        if _take(state, "drop_next"):
            pass
        elif _take(state, "forge_next"):
            await notify(protocol.sign(f"forged-{state.secret}", unsigned), forged=True)
        elif _take(state, "late_next"):
            task = asyncio.create_task(notify_later(params, state.late_seconds))
            state.background.add(task)
            task.add_done_callback(state.background.discard)
        else:
            await notify(params, forged=False)
            if _take(state, "duplicate_next"):
                await notify(params, forged=False)
        return RedirectResponse(f"{order['vnp_ReturnUrl']}?{urlencode(params)}", status_code=303)

    @app.get("/merchant_webapi/report")
    async def report(request: Request) -> JSONResponse:
        params = dict(request.query_params)
        if not protocol.verifies(state.secret, params) or params.get("vnp_TmnCode") != (
            state.tmn_code
        ):
            return JSONResponse({"RspCode": "97", "Message": "Invalid signature"}, 403)
        day = params.get("vnp_Date", "")
        items = [
            {k: v for k, v in p.items() if k != protocol.HASH}
            for p in state.decided.values()
            if p["vnp_PayDate"][:8] == day
        ]
        body = {"vnp_TmnCode": state.tmn_code, "vnp_Date": day, "items": items}
        return JSONResponse(body)

    @app.post("/control")
    async def control(request: Request) -> dict[str, Any]:
        body = await request.json()
        for name in ("duplicate_next", "late_next", "forge_next", "drop_next"):
            if name in body:
                setattr(state, name, int(body[name]))
        if "late_seconds" in body:
            state.late_seconds = float(body["late_seconds"])
        if "ipn_url" in body:
            state.ipn_url = str(body["ipn_url"])
        return await read_control()

    @app.get("/control")
    async def read_control() -> dict[str, Any]:
        return {
            "ipn_url": state.ipn_url, "duplicate_next": state.duplicate_next,
            "late_next": state.late_next, "late_seconds": state.late_seconds,
            "forge_next": state.forge_next, "drop_next": state.drop_next,
        }  # fmt: skip

    @app.get("/notifications")
    async def notifications(txn_ref: str | None = None) -> dict[str, Any]:
        return {
            "items": [n for n in state.notifications if txn_ref in (None, n["txn_ref"])],
        }

    return app


@dataclass
class GatewayServer(infra.StandInServer):
    tmn_code: str
    hash_secret: str


def argv(port: int, *, tmn_code: str, hash_secret: str, ipn_url: str) -> list[str]:
    return infra.stand_in_argv(
        "shared.testing.gateway", port, tmn_code=tmn_code, hash_secret=hash_secret,
        ipn_url=ipn_url,
    )  # fmt: skip


@contextmanager
def running_gateway(
    log: Path,
    *,
    tmn_code: str = DEFAULT_TMN_CODE,
    hash_secret: str = DEFAULT_HASH_SECRET,
    ipn_url: str = "http://127.0.0.1:9/unset",
) -> Iterator[GatewayServer]:
    """The sandbox as its own process on a free port, stopped afterwards. The IPN URL is
    set later (`POST /control`) when the merchant's port is known only then."""

    def at(port: int) -> list[str]:
        return argv(port, tmn_code=tmn_code, hash_secret=hash_secret, ipn_url=ipn_url)

    with infra.stand_in_process(at, log, "the gateway sandbox") as url:
        yield GatewayServer(url, tmn_code, hash_secret)


def main() -> None:
    parser = infra.stand_in_arguments(__doc__, 8096)
    parser.add_argument("--tmn-code", default=os.environ.get("GATEWAY_TMN_CODE", DEFAULT_TMN_CODE))
    parser.add_argument(
        "--hash-secret", default=os.environ.get("GATEWAY_HASH_SECRET", DEFAULT_HASH_SECRET)
    )
    parser.add_argument(
        "--ipn-url",
        default=os.environ.get("GATEWAY_IPN_URL", "http://127.0.0.1:8001/api/v1/payments/notify"),
    )
    args = parser.parse_args()
    app = create_app(args.tmn_code, args.hash_secret, args.ipn_url)
    infra.serve_stand_in(app, args)


if __name__ == "__main__":
    main()
