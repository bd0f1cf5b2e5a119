"""The rules of the sign-in with the national identity, on plain data."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from intake.domain import oidc

TODAY = date(2026, 12, 1)
CLAIMS = {
    "sub": "vneid-0001",
    "so_dinh_danh": "001099000001",
    "name": "Tra\u0302\u0300n  Văn Định ",  # decomposed, doubled space: one spelling is stored
    "birthdate": "1990-10-29",
    "phone_number": "+84912000001",
    "nonce": "n-123",
    "aud": "dvc-intake",
}


def test_the_pkce_challenge_is_s256_as_in_rfc_7636() -> None:
    # RFC 7636, appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert oidc.pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


@pytest.mark.parametrize(
    ("uri", "allowed"),
    [
        ("https://portal.vn/dang-nhap", True),
        ("https://portal.vn/dang-nhap/", False),
        ("https://portal.vn/dang-nhap?x=1", False),
        ("https://portal.vn/dang-nhap/../admin", False),
        ("https://portal.vn.evil.example/dang-nhap", False),
        ("https://portal.vn@evil.example/dang-nhap", False),
        ("HTTPS://PORTAL.VN/dang-nhap", False),
    ],
)
def test_only_a_listed_page_receives_the_token(uri: str, allowed: bool) -> None:
    assert oidc.allowed_redirect(uri, ["https://portal.vn/dang-nhap"]) is allowed


def test_the_nonce_of_the_attempt_is_required() -> None:
    oidc.check_claims(CLAIMS, nonce="n-123", client_id="dvc-intake")
    for claims in ({**CLAIMS, "nonce": "n-124"}, {k: v for k, v in CLAIMS.items() if k != "nonce"}):
        with pytest.raises(oidc.IdentityRefused, match="không thuộc lần đăng nhập này"):
            oidc.check_claims(claims, nonce="n-123", client_id="dvc-intake")


def test_several_audiences_need_intake_as_the_authorised_party() -> None:
    shared = {**CLAIMS, "aud": ["dvc-intake", "another-portal"]}
    with pytest.raises(oidc.IdentityRefused):
        oidc.check_claims(shared, nonce="n-123", client_id="dvc-intake")
    oidc.check_claims({**shared, "azp": "dvc-intake"}, nonce="n-123", client_id="dvc-intake")


def test_the_citizen_of_the_claims() -> None:
    person = oidc.identity_of(CLAIMS, id_number_claim="so_dinh_danh", today=TODAY)
    assert person == oidc.NationalIdentity(
        subject="vneid-0001", id_number="001099000001", full_name="Trần Văn Định",
        date_of_birth=date(1990, 10, 29), phone="0912000001",
    )  # fmt: skip


def test_the_id_number_claim_is_configurable() -> None:
    claims = {**CLAIMS, "citizen_id": "006088000002"}
    assert oidc.identity_of(claims, id_number_claim="citizen_id", today=TODAY).id_number == (
        "006088000002"
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"so_dinh_danh": None},
        {"so_dinh_danh": "12345"},
        {"so_dinh_danh": 1099000001},
        {"so_dinh_danh": "00109900000a"},
        {"sub": None},
        {"sub": ""},
    ],
)
def test_no_valid_id_number_or_subject_signs_nobody_in(changes: dict[str, Any]) -> None:
    claims = {k: v for k, v in {**CLAIMS, **changes}.items() if v is not None}
    with pytest.raises(oidc.IdentityRefused, match="số định danh"):
        oidc.identity_of(claims, id_number_claim="so_dinh_danh", today=TODAY)


@pytest.mark.parametrize("name", [None, "", "   ", "Nguyễn 2", "Nguyễn\x00An"])
def test_a_valid_name_is_required(name: str | None) -> None:
    claims = {k: v for k, v in {**CLAIMS, "name": name}.items() if v is not None}
    with pytest.raises(oidc.IdentityRefused, match="họ và tên"):
        oidc.identity_of(claims, id_number_claim="so_dinh_danh", today=TODAY)


@pytest.mark.parametrize(
    ("changes", "birth", "phone"),
    [
        ({"birthdate": "2027-01-01"}, None, "0912000001"),
        ({"birthdate": "29/10/1990"}, None, "0912000001"),
        ({"birthdate": 1990}, None, "0912000001"),
        ({"phone_number": "+1 555 0100"}, date(1990, 10, 29), None),
        ({"phone_number": None}, date(1990, 10, 29), None),
    ],
)
def test_an_invalid_birth_date_or_phone_is_left_out(
    changes: dict[str, Any], birth: date | None, phone: str | None
) -> None:
    claims = {k: v for k, v in {**CLAIMS, **changes}.items() if v is not None}
    person = oidc.identity_of(claims, id_number_claim="so_dinh_danh", today=TODAY)
    assert (person.date_of_birth, person.phone) == (birth, phone)
