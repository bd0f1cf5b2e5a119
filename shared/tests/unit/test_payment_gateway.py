"""The gateway protocol's signature: HMAC-SHA512 over the sorted, form-urlencoded `vnp_*`
parameters, without the signature itself and without empty values."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from shared import payment_gateway as protocol

SECRET = "merchant-hash-secret"
PARAMS = {
    "vnp_TxnRef": "order-1",
    "vnp_Amount": "1500000",
    "vnp_OrderInfo": "Le phi ho so thu tuc 1.004194",
    "vnp_ReturnUrl": "https://portal.example/thanh-toan?x=1&y=2",
    "vnp_TmnCode": "DVCBCA01",
}


def test_the_signed_text_is_sorted_and_form_urlencoded() -> None:
    assert protocol.signed_data({**PARAMS, "vnp_BankCode": "", "other": "x"}) == (
        "vnp_Amount=1500000&vnp_OrderInfo=Le+phi+ho+so+thu+tuc+1.004194"
        "&vnp_ReturnUrl=https%3A%2F%2Fportal.example%2Fthanh-toan%3Fx%3D1%26y%3D2"
        "&vnp_TmnCode=DVCBCA01&vnp_TxnRef=order-1"
    )


def test_the_signature_is_the_hmac_sha512_of_that_text() -> None:
    text = protocol.signed_data(PARAMS).encode()
    assert protocol.sign(SECRET, PARAMS)[protocol.HASH] == (
        hmac.new(SECRET.encode(), text, hashlib.sha512).hexdigest()
    )


def test_signed_parameters_verify_with_the_signature_fields_left_out() -> None:
    signed = {**protocol.sign(SECRET, PARAMS), "vnp_SecureHashType": "HmacSHA512"}
    assert protocol.verifies(SECRET, signed)
    assert protocol.verifies(SECRET, {**signed, protocol.HASH: signed[protocol.HASH].upper()})


@pytest.mark.parametrize(
    "change",
    [
        {"vnp_Amount": "150000000"},
        {"vnp_TxnRef": "order-2"},
        {"vnp_ResponseCode": "00"},
        {protocol.HASH: ""},
    ],
)
def test_any_change_breaks_the_signature(change: dict[str, str]) -> None:
    assert not protocol.verifies(SECRET, {**protocol.sign(SECRET, PARAMS), **change})


def test_another_key_does_not_verify() -> None:
    assert not protocol.verifies("another-secret", protocol.sign(SECRET, PARAMS))
    assert not protocol.verifies(SECRET, PARAMS)


def test_gateway_times_are_vietnam_time() -> None:
    moment = datetime(2026, 12, 1, 17, 30, 5, tzinfo=UTC)
    assert protocol.gateway_time(moment) == "20261202003005"
    assert protocol.parse_gateway_time("20261202003005") == moment
