"""intake's production settings: a public tracking page that is not this machine; and the
Kubernetes manifests start every process of intake with them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from deploy import manifests
from intake.config import IntakeSettings
from shared.testing.settings import production_env, with_value

PRODUCTION = {
    **production_env("intake"),
    "INTAKE_OIDC_ISSUER": "https://sso.vneid.gov.vn",
    "INTAKE_OIDC_CLIENT_SECRET": "given-by-the-identity-provider",
    "INTAKE_OIDC_REDIRECT_URI": "https://dichvucong.bocongan.gov.vn/api/v1/auth/oidc/callback",
    "INTAKE_OIDC_PORTAL_REDIRECT_URIS": '["https://dichvucong.bocongan.gov.vn/dang-nhap/vneid"]',
    "INTAKE_GATEWAY_URL": "https://pay.vnpay.vn",
    "INTAKE_GATEWAY_HASH_SECRET": "given-by-the-gateway",
    "INTAKE_GATEWAY_RETURN_URL": "https://dichvucong.bocongan.gov.vn/thanh-toan/ket-qua",
}


def test_production_settings_are_accepted() -> None:
    assert manifests.settings_with(IntakeSettings, PRODUCTION).environment == "production"


@pytest.mark.parametrize(
    "url", ["http://localhost:8001/tra-cuu/{code}", "http://127.0.0.1/tra-cuu/{code}"]
)
def test_production_refuses_a_tracking_page_on_this_machine(url: str) -> None:
    env = {**PRODUCTION, "INTAKE_PUBLIC_TRACKING_URL": url}
    with pytest.raises(ValidationError, match="INTAKE_PUBLIC_TRACKING_URL"):
        manifests.settings_with(IntakeSettings, env)


@pytest.mark.parametrize(
    "url",
    [
        "https://dichvucong.bocongan.gov.vn/tra-cuu",  # every dossier would show the same page
        "https://dichvucong.bocongan.gov.vn/tra-cuu/{ma}",
        "https://dichvucong.bocongan.gov.vn/tra-cuu/{code",
        "https://dichvucong.bocongan.gov.vn/tra-cuu/{{code}}",
    ],
)
def test_a_tracking_url_without_the_dossier_code_is_refused_anywhere(url: str) -> None:
    with pytest.raises(ValidationError, match="INTAKE_PUBLIC_TRACKING_URL must contain"):
        manifests.settings_with(IntakeSettings, {"INTAKE_PUBLIC_TRACKING_URL": url})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("INTAKE_GATEWAY_URL", "http://127.0.0.1:8096"),
        ("INTAKE_GATEWAY_URL", "http://pay.vnpay.vn"),
        ("INTAKE_GATEWAY_RETURN_URL", "http://localhost:3000/thanh-toan/ket-qua"),
    ],
)
def test_production_refuses_a_gateway_over_http_or_on_this_machine(name: str, value: str) -> None:
    with pytest.raises(ValidationError, match=name):
        manifests.settings_with(IntakeSettings, {**PRODUCTION, name: value})


@pytest.mark.parametrize(
    "secret", [None, "dvc-dev-gateway-hash-secret-intake-change-me-0123456789"]
)
def test_production_refuses_a_missing_or_development_gateway_secret(secret: str | None) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "INTAKE_GATEWAY_HASH_SECRET"}
    if secret is not None:
        env["INTAKE_GATEWAY_HASH_SECRET"] = secret
    with pytest.raises(ValidationError, match="INTAKE_GATEWAY_HASH_SECRET"):
        manifests.settings_with(IntakeSettings, env)


@pytest.mark.parametrize("workload", sorted(manifests.environments("intake")))
def test_every_kubernetes_workload_starts_in_production(workload: str) -> None:
    settings = manifests.settings_with(IntakeSettings, manifests.environments("intake")[workload])
    assert settings.environment == "production"


def test_the_kubernetes_manifests_have_the_production_shape() -> None:
    assert manifests.problems("intake", IntakeSettings) == []


def test_the_compose_stack_reaches_the_others_by_service_name() -> None:
    addresses = IntakeSettings.remote_addresses
    assert manifests.compose_problems("intake", IntakeSettings, addresses) == []


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("INTAKE_OIDC_ISSUER", "http://127.0.0.1:9400"),
        ("INTAKE_OIDC_ISSUER", "http://sso.vneid.gov.vn"),
        ("INTAKE_OIDC_ISSUER", "https://localhost:9400"),
        ("INTAKE_OIDC_REDIRECT_URI", "http://dichvucong.bocongan.gov.vn/api/v1/auth/oidc/callback"),
        ("INTAKE_OIDC_PORTAL_REDIRECT_URIS", '["https://127.0.0.1/dang-nhap"]'),
        ("INTAKE_OIDC_PORTAL_REDIRECT_URIS", '["http://dichvucong.bocongan.gov.vn/dang-nhap"]'),
        ("INTAKE_OIDC_PORTAL_REDIRECT_URIS", "[]"),
    ],
)
def test_production_refuses_an_identity_provider_or_pages_on_this_machine_or_http(
    variable: str, value: str
) -> None:
    with pytest.raises(ValidationError, match=variable):
        manifests.settings_with(IntakeSettings, {**PRODUCTION, variable: value})


@pytest.mark.parametrize("secret", [None, "dvc-dev-oidc-client-secret-intake-change-me-0123456789"])
def test_production_refuses_no_or_the_development_client_secret(secret: str | None) -> None:
    env = with_value(PRODUCTION, "INTAKE_OIDC_CLIENT_SECRET", secret)
    with pytest.raises(ValidationError, match="INTAKE_OIDC_CLIENT_SECRET"):
        manifests.settings_with(IntakeSettings, env)


def test_the_compose_stack_reaches_the_identity_provider_by_service_name() -> None:
    assert manifests.compose_problems("intake", IntakeSettings, ("oidc_issuer",)) == []
