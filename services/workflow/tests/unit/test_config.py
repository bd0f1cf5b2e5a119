"""workflow's production settings: no demo officers, a public tracking page that is not this
machine; and the Kubernetes manifests start every process of workflow with them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from deploy import manifests
from shared.testing.settings import production_env, with_value
from workflow.config import WorkflowSettings

PRODUCTION = {
    **production_env("workflow"),
    "WORKFLOW_SEED_DEMO_OFFICERS": "false",
    "WORKFLOW_NATIONAL_URL": "https://dichvucong.gov.vn/api/dongbo",
    "WORKFLOW_NATIONAL_CLIENT_SECRET": "issued-by-the-national-portal",
}


def test_production_settings_are_accepted() -> None:
    settings = manifests.settings_with(WorkflowSettings, PRODUCTION)
    assert settings.environment == "production"
    assert not settings.seed_demo_officers


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        # Demo officers have a password printed in the README.
        ("WORKFLOW_SEED_DEMO_OFFICERS", "true", "WORKFLOW_SEED_DEMO_OFFICERS"),
        ("WORKFLOW_SEED_DEMO_OFFICERS", None, "WORKFLOW_SEED_DEMO_OFFICERS"),
        # The QR code of every official form would lead the citizen's phone to itself.
        ("WORKFLOW_PUBLIC_TRACKING_URL", "http://localhost:8001/tra-cuu/{code}",
         "WORKFLOW_PUBLIC_TRACKING_URL"),
        ("WORKFLOW_PUBLIC_TRACKING_URL", "http://127.0.0.1/tra-cuu/{code}",
         "WORKFLOW_PUBLIC_TRACKING_URL"),
        # Records meant for the national portal would go to the local stand-in.
        ("WORKFLOW_NATIONAL_URL", "http://127.0.0.1:8095", "WORKFLOW_NATIONAL_URL"),
        ("WORKFLOW_NATIONAL_URL", "", "WORKFLOW_NATIONAL_URL"),
        ("WORKFLOW_NATIONAL_CLIENT_SECRET", None, "WORKFLOW_NATIONAL_CLIENT_SECRET"),
    ],
)  # fmt: skip
def test_production_refuses_development_choices_naming_the_variable(
    name: str, value: str | None, named: str
) -> None:
    env = with_value(PRODUCTION, name, value)
    with pytest.raises(ValidationError, match=named):
        manifests.settings_with(WorkflowSettings, env)


@pytest.mark.parametrize(
    "url",
    [
        "https://dichvucong.bocongan.gov.vn/tra-cuu",  # every form would show the same page
        "https://dichvucong.bocongan.gov.vn/tra-cuu/{ma}",  # a form could not be made at all
        "https://dichvucong.bocongan.gov.vn/tra-cuu/{code",
        "https://dichvucong.bocongan.gov.vn/tra-cuu/{{code}}",
    ],
)
def test_a_tracking_url_without_the_dossier_code_is_refused_anywhere(url: str) -> None:
    with pytest.raises(ValidationError, match="WORKFLOW_PUBLIC_TRACKING_URL must contain"):
        manifests.settings_with(WorkflowSettings, {"WORKFLOW_PUBLIC_TRACKING_URL": url})


def test_development_seeds_the_demo_officers() -> None:
    assert manifests.settings_with(WorkflowSettings, {}).seed_demo_officers


@pytest.mark.parametrize("workload", sorted(manifests.environments("workflow")))
def test_every_kubernetes_workload_starts_in_production(workload: str) -> None:
    env = manifests.environments("workflow")[workload]
    settings = manifests.settings_with(WorkflowSettings, env)
    assert settings.environment == "production"
    assert not settings.seed_demo_officers


def test_the_kubernetes_manifests_have_the_production_shape() -> None:
    assert manifests.problems("workflow", WorkflowSettings) == []


def test_the_compose_stack_reaches_the_others_by_service_name() -> None:
    addresses = WorkflowSettings.remote_addresses
    assert manifests.compose_problems("workflow", WorkflowSettings, addresses) == []
