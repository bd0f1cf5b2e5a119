"""stats's production settings are the common ones, under its own prefix; and the Kubernetes
manifests start every process of stats with them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from deploy import manifests
from shared.testing.settings import production_env, with_value
from stats.config import StatsSettings

PRODUCTION = production_env("stats")


def test_production_settings_are_accepted() -> None:
    settings = manifests.settings_with(StatsSettings, PRODUCTION)
    assert settings.environment == "production"
    # Names on the public list stay masked unless the agency chooses to publish them.
    assert not settings.public_full_names


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STATS_DATABASE_URL", "postgresql+asyncpg://stats:pw@localhost/dvc_stats"),
        ("STATS_AMQP_URL", "amqp://guest:guest@rabbitmq.internal:5672/"),
        ("STATS_JWT_SECRET", None),
    ],
)
def test_production_refuses_the_common_development_values_naming_stats_variable(
    name: str, value: str | None
) -> None:
    env = with_value(PRODUCTION, name, value)
    with pytest.raises(ValidationError, match=name):
        manifests.settings_with(StatsSettings, env)


@pytest.mark.parametrize("workload", sorted(manifests.environments("stats")))
def test_every_kubernetes_workload_starts_in_production(workload: str) -> None:
    settings = manifests.settings_with(StatsSettings, manifests.environments("stats")[workload])
    assert settings.environment == "production"


def test_the_kubernetes_manifests_have_the_production_shape() -> None:
    assert manifests.problems("stats", StatsSettings) == []


def test_the_compose_stack_reaches_the_others_by_service_name() -> None:
    addresses = StatsSettings.remote_addresses
    assert manifests.compose_problems("stats", StatsSettings, addresses) == []
