"""The national portal's stand-in refuses what the portal would: a wrong client, a missing
or expired token, a record without its required fields or with malformed dates, another
record under an id already used; and it knows a record sent twice."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.testing.national import create_app

RECORD: dict[str, Any] = {
    "MaBanGhi": "G01.306.000.000-261201-0001#1", "MaHoSo": "G01.306.000.000-261201-0001",
    "MaTTHC": "1.004194", "KenhThucHien": 2, "NgayNopHoSo": "20261201080000",
    "TrangThaiHoSo": 1,
}  # fmt: skip


def _client(token_ttl: float = 300.0) -> httpx.AsyncClient:
    app = create_app("client", "secret", token_ttl)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://national")


async def _token(client: httpx.AsyncClient, credential: str = "secret") -> httpx.Response:
    return await client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=("client", credential)
    )


async def _send(client: httpx.AsyncClient, record: dict[str, Any], token: str) -> httpx.Response:
    return await client.post("/hoso", json=record, headers={"Authorization": f"Bearer {token}"})


async def test_only_the_registered_client_gets_a_token() -> None:
    async with _client() as client:
        assert (await _token(client, "wrong")).status_code == 401
        answer = await _token(client)
        assert answer.status_code == 200
        assert answer.json()["expires_in"] == 300


async def test_a_record_needs_a_valid_token() -> None:
    async with _client(token_ttl=0) as client:
        assert (await _send(client, RECORD, "made-up")).status_code == 401
        expired = (await _token(client)).json()["access_token"]
        assert (await _send(client, RECORD, expired)).status_code == 401


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"MaHoSo": None}, "MaHoSo"),
        ({"MaBanGhi": ""}, "MaBanGhi"),
        ({"TrangThaiHoSo": 11}, "TrangThaiHoSo"),
        ({"NgayNopHoSo": "2026-12-01T08:00:00"}, "NgayNopHoSo"),
        ({"NgayTiepNhan": "20261201"}, "NgayTiepNhan"),
    ],
)
async def test_an_incomplete_record_is_refused_naming_the_field(
    change: dict[str, Any], field: str
) -> None:
    async with _client() as client:
        token = (await _token(client)).json()["access_token"]
        answer = await _send(client, {**RECORD, **change}, token)
        assert answer.status_code == 422
        assert field in [e["field"] for e in answer.json()["errors"]]


async def test_the_same_record_twice_is_recorded_once() -> None:
    async with _client() as client:
        token = (await _token(client)).json()["access_token"]
        assert (await _send(client, RECORD, token)).json() == {"accepted": True, "duplicate": False}
        assert (await _send(client, RECORD, token)).json() == {"accepted": True, "duplicate": True}
        other = await _send(client, {**RECORD, "TrangThaiHoSo": 2}, token)
        assert other.status_code == 409
        received = (await client.get("/received", params={"ma_ho_so": RECORD["MaHoSo"]})).json()
        assert [i["TrangThaiHoSo"] for i in received["items"]] == [1]
        assert received["duplicates"] == 1


async def test_it_fails_the_next_requests_when_told() -> None:
    async with _client() as client:
        token = (await _token(client)).json()["access_token"]
        await client.post("/control", json={"fail_next": 2})
        assert [(await _send(client, RECORD, token)).status_code for _ in range(3)] == [
            503,
            503,
            201,
        ]
