"""The sandbox gateway refuses what a real gateway would: a payment link whose signature
does not verify (an amount changed on the way), another merchant's link, an unsigned
report request; and it reports the transactions it decided."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx

from shared import payment_gateway as protocol
from shared.testing.gateway import create_app

SECRET = "sandbox-secret"
LINK = {
    "vnp_Version": "2.1.0", "vnp_Command": "pay", "vnp_TmnCode": "SHOP01",
    "vnp_Amount": "1500000", "vnp_CurrCode": "VND", "vnp_TxnRef": "order-1",
    "vnp_OrderInfo": "Le phi", "vnp_ReturnUrl": "https://portal.example/ket-qua",
    "vnp_CreateDate": "20261201080000", "vnp_IpAddr": "203.0.113.5", "vnp_Locale": "vn",
}  # fmt: skip


def _client() -> httpx.AsyncClient:
    # The notification goes nowhere reachable: what is tested here is the gateway itself.
    app = create_app("SHOP01", SECRET, "http://127.0.0.1:9/ipn")
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")


def _pay_url(params: dict[str, str]) -> str:
    return f"/paymentv2/vpcpay.html?{urlencode(params)}"


async def test_a_link_whose_signature_fails_is_refused() -> None:
    signed = protocol.sign(SECRET, LINK)
    async with _client() as client:
        assert (await client.get(_pay_url(signed))).status_code == 200
        cheaper = {**signed, "vnp_Amount": "100"}
        assert (await client.get(_pay_url(cheaper))).status_code == 400
        other = protocol.sign(SECRET, {**LINK, "vnp_TmnCode": "SHOP02"})
        assert (await client.get(_pay_url(other))).status_code == 400
        unsigned = {k: v for k, v in LINK.items() if k != "vnp_Amount"}
        assert (await client.get(_pay_url(protocol.sign(SECRET, unsigned)))).status_code == 400


async def test_the_daily_report_is_signed_and_lists_the_decided_transactions() -> None:
    async with _client() as client:
        await client.get(_pay_url(protocol.sign(SECRET, LINK)))
        back = await client.post(
            "/paymentv2/decide", data={"vnp_TxnRef": "order-1", "decision": "approve"}
        )
        assert back.status_code == 303
        returned = dict(httpx.URL(back.headers["location"]).params)
        assert protocol.verifies(SECRET, returned)
        day = returned["vnp_PayDate"][:8]

        query = {"vnp_TmnCode": "SHOP01", "vnp_Date": day}
        refused = await client.get("/merchant_webapi/report", params=query)
        report = await client.get("/merchant_webapi/report", params=protocol.sign(SECRET, query))
    assert refused.status_code == 403
    [item] = report.json()["items"]
    assert (item["vnp_TxnRef"], item["vnp_Amount"], item["vnp_ResponseCode"]) == (
        "order-1", "1500000", "00",
    )  # fmt: skip
