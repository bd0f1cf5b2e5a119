"""notify's production settings: a real SMS gateway, mail through the relay, workflow's keys
from workflow; and the Kubernetes manifests start every process of notify with them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from deploy import manifests
from notify.config import NotifySettings
from shared.testing.settings import production_env, with_value

PRODUCTION = {
    **production_env("notify"),
    "NOTIFY_SMTP_HOST": "smtp-relay.internal",
    "NOTIFY_SMTP_FROM": "Cổng dịch vụ công <no-reply@dichvucong.bocongan.gov.vn>",
    "NOTIFY_SMS_PROVIDER": "http",
    "NOTIFY_SMS_HTTP_URL": "https://sms-gateway.example.invalid/messages",
    "NOTIFY_SMS_HTTP_API_KEY": "gateway-key-from-the-vault",
    "NOTIFY_OFFICER_JWKS_URL": "http://workflow.internal/.well-known/jwks.json",
}


def test_production_settings_are_accepted() -> None:
    settings = manifests.settings_with(NotifySettings, PRODUCTION)
    assert settings.environment == "production"
    assert settings.sms_provider == "http"


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        # The development provider keeps messages in the database; scripted ones are for tests.
        ("NOTIFY_SMS_PROVIDER", "development", "NOTIFY_SMS_PROVIDER"),
        ("NOTIFY_SMS_PROVIDER", "scripted", "NOTIFY_SMS_PROVIDER"),
        ("NOTIFY_SMS_HTTP_URL", "", "NOTIFY_SMS_HTTP_URL"),
        ("NOTIFY_SMS_HTTP_URL", "http://127.0.0.1:9999/messages", "NOTIFY_SMS_HTTP_URL"),
        ("NOTIFY_SMS_HTTP_API_KEY", None, "NOTIFY_SMS_HTTP_API_KEY must be set"),
        ("NOTIFY_SMS_HTTP_API_KEY", "", "NOTIFY_SMS_HTTP_API_KEY must be set"),
        ("NOTIFY_SMTP_HOST", "127.0.0.1", "NOTIFY_SMTP_HOST"),
        ("NOTIFY_SMTP_HOST", "localhost", "NOTIFY_SMTP_HOST"),
        ("NOTIFY_SMTP_HOST", None, "NOTIFY_SMTP_HOST"),
        # Mail from the development sender is refused by the citizens' mail servers.
        ("NOTIFY_SMTP_FROM", None, "NOTIFY_SMTP_FROM"),
        # A user without a password: the relay would refuse every message, not the process.
        ("NOTIFY_SMTP_USER", "notify", "NOTIFY_SMTP_PASSWORD"),
        ("NOTIFY_OFFICER_JWKS_URL", "http://127.0.0.1:8002/.well-known/jwks.json",
         "NOTIFY_OFFICER_JWKS_URL"),
        ("NOTIFY_OFFICER_JWKS_URL", "http://localhost:8002/.well-known/jwks.json",
         "NOTIFY_OFFICER_JWKS_URL"),
        # Neither a URL nor keys given: no officer could ever be recognised.
        ("NOTIFY_OFFICER_JWKS_URL", "", "NOTIFY_OFFICER_JWKS_URL"),
        ("NOTIFY_OFFICER_JWKS_URL", None, "NOTIFY_OFFICER_JWKS_URL"),
    ],
)  # fmt: skip
def test_production_refuses_development_choices_naming_the_variable(
    name: str, value: str | None, named: str
) -> None:
    env = with_value(PRODUCTION, name, value)
    with pytest.raises(ValidationError, match=named):
        manifests.settings_with(NotifySettings, env)


def test_production_takes_workflow_keys_given_up_front_without_a_url() -> None:
    """An air-gapped set-up gives workflow's keys instead of the URL to fetch them from."""
    keys = '[{"kty": "OKP", "crv": "Ed25519", "kid": "k1", "x": "AAAA"}]'
    env = {**PRODUCTION, "NOTIFY_OFFICER_JWKS_URL": "", "NOTIFY_OFFICER_JWKS": keys}
    settings = manifests.settings_with(NotifySettings, env)
    assert settings.officer_jwks_url is None
    assert settings.officer_jwks[0]["kid"] == "k1"


def test_development_keeps_its_local_defaults() -> None:
    settings = manifests.settings_with(NotifySettings, {})
    assert (settings.sms_provider, settings.smtp_host) == ("development", "127.0.0.1")
    assert settings.officer_jwks_url == "http://127.0.0.1:8002/.well-known/jwks.json"


@pytest.mark.parametrize("workload", sorted(manifests.environments("notify")))
def test_every_kubernetes_workload_starts_in_production(workload: str) -> None:
    settings = manifests.settings_with(NotifySettings, manifests.environments("notify")[workload])
    assert settings.environment == "production"
    assert settings.sms_provider == "http"
    assert settings.officer_jwks_url is not None


def test_the_kubernetes_manifests_have_the_production_shape() -> None:
    assert manifests.problems("notify", NotifySettings) == []


def test_the_compose_stack_reaches_the_others_by_service_name() -> None:
    addresses = (*NotifySettings.remote_addresses, "officer_jwks_url")
    assert manifests.compose_problems("notify", NotifySettings, addresses) == []
