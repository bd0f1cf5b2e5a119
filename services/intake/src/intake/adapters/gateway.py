"""The payment gateway, as the merchant sees it: the signed link the citizen's browser
follows, the check of the gateway's signed notification, and its daily report
(docs/PAYMENTS.md). Signing is the protocol's, in shared/payment_gateway.py."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

import httpx

from shared import payment_gateway as protocol


class GatewayUnavailable(Exception):
    """The gateway did not answer, or answered something unreadable."""


class PaymentGateway:
    def __init__(
        self,
        url: str,
        *,
        tmn_code: str,
        hash_secret: str,
        return_url: str,
        payment_minutes: int,
        timeout: float,
    ) -> None:
        self._url = url.rstrip("/")
        self._tmn_code = tmn_code
        self._secret = hash_secret
        self._return_url = return_url
        self._payment_minutes = payment_minutes
        self._timeout = timeout

    def payment_url(
        self, order: str, amount_vnd: int, order_info: str, client_ip: str, now: datetime
    ) -> str:
        """The signed link to the gateway's page for paying `amount_vnd` on `order`."""
        params = {
            "vnp_Version": protocol.VERSION,
            "vnp_Command": "pay",
            "vnp_TmnCode": self._tmn_code,
            # In hundredths of a đồng, as the protocol counts.
            "vnp_Amount": str(amount_vnd * 100),
            "vnp_CurrCode": "VND",
            "vnp_TxnRef": order,
            "vnp_OrderInfo": order_info,
            "vnp_OrderType": "other",
            "vnp_Locale": "vn",
            "vnp_ReturnUrl": self._return_url,
            "vnp_IpAddr": client_ip,
            "vnp_CreateDate": protocol.gateway_time(now),
            "vnp_ExpireDate": protocol.gateway_time(now + timedelta(minutes=self._payment_minutes)),
        }
        signed = protocol.sign(self._secret, params)
        return f"{self._url}/paymentv2/vpcpay.html?{urlencode(signed)}"

    def verifies(self, params: Mapping[str, str]) -> bool:
        """The notification is the gateway's, for this merchant."""
        return params.get("vnp_TmnCode") == self._tmn_code and protocol.verifies(
            self._secret, params
        )

    async def daily_report(self, day: date) -> list[dict[str, str]]:
        """The transactions the gateway decided on `day` (Vietnam time)."""
        query = protocol.sign(
            self._secret,
            {"vnp_TmnCode": self._tmn_code, "vnp_Date": day.strftime("%Y%m%d")},
        )
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                answer = await client.get(f"{self._url}/merchant_webapi/report", params=query)
            answer.raise_for_status()
            items = answer.json()["items"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as failure:
            raise GatewayUnavailable(f"the gateway's report of {day}: {failure!r}") from failure
        return [{str(k): str(v) for k, v in item.items()} for item in items]
