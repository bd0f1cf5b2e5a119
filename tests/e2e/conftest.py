"""The four services as real processes (`python -m <service> all`), each on its own
fresh database, sharing a test vhost and the test object store; notify sends mail to a
real SMTP server (`mailbox`) and SMS to its development provider."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping

import pytest

from shared.testing import infra
from shared.testing.gateway import GatewayServer, running_gateway
from shared.testing.oidc import (
    OidcProviderServer,
    ProviderAccount,
    citizen_account,
    oidc_provider,
    relying_party_env,
)
from shared.testing.processes import ServiceProcess, process_stack
from shared.testing.smtp import Mailbox, smtp_server

SERVICES = ("intake", "workflow", "notify", "stats")
# Citizens the national identity knows (the stand-in's user store); no account at intake.
NATIONAL_CITIZENS = (
    citizen_account("001190054321", name="Lý Thị Hoa"),
    citizen_account("006090067890", name="Hoàng Văn Tùng", phone_number="+84912000222"),
)
INTAKE_PORT = infra.free_port()


@pytest.fixture(scope="session")
def identity_provider(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[OidcProviderServer, tuple[ProviderAccount, ...]]]:
    """The stand-in for VNeID, intake of the stack as its client."""
    callback = f"http://127.0.0.1:{INTAKE_PORT}/api/v1/auth/oidc/callback"
    with oidc_provider(
        tmp_path_factory.mktemp("oidc"), redirect_uris=[callback], accounts=list(NATIONAL_CITIZENS)
    ) as provider:
        yield provider, NATIONAL_CITIZENS


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayServer]:
    """The sandbox payment gateway, notifying intake of the stack (its port known now)."""
    notify_url = f"http://127.0.0.1:{INTAKE_PORT}/api/v1/payments/notify"
    with running_gateway(tmp_path_factory.mktemp("gateway") / "gateway.log",
                         ipn_url=notify_url) as server:  # fmt: skip
        yield server


@pytest.fixture(scope="session")
def smtp() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture(scope="session")
def mailbox(smtp: tuple[Mailbox, int]) -> Mailbox:
    """The mail notify sent, as the citizens' and officers' mail servers received it."""
    return smtp[0]


@pytest.fixture(scope="session")
async def stack(
    rabbit: tuple[str, str],
    smtp: tuple[Mailbox, int],
    object_store_server: infra.ObjectStoreServer,
    identity_provider: tuple[OidcProviderServer, tuple[ProviderAccount, ...]],
    gateway: GatewayServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[dict[str, ServiceProcess]]:
    def configure(name: str, running: Mapping[str, ServiceProcess]) -> tuple[int, dict[str, str]]:
        if name == "intake":
            intake_url = f"http://127.0.0.1:{INTAKE_PORT}"
            return INTAKE_PORT, {
                **relying_party_env(identity_provider[0], intake_url),
                "gateway_url": gateway.url,
                "gateway_tmn_code": gateway.tmn_code,
                "gateway_hash_secret": gateway.hash_secret,
            }
        if name == "workflow":
            # Records for the national portal are kept, not sent to whatever listens
            # on the stand-in's default port (test_national_sync covers the sending).
            return infra.free_port(), {"national_url": ""}
        if name == "notify":
            # notify checks officers' tokens against the keys workflow publishes.
            return infra.free_port(), {
                "officer_jwks_url": f"{running['workflow'].url}/.well-known/jwks.json",
                "smtp_host": "127.0.0.1", "smtp_port": str(smtp[1]),
                "sms_provider": "development",
            }  # fmt: skip
        return infra.free_port(), {}

    async with process_stack(
        SERVICES, "e2e", amqp_url=rabbit[1], store=object_store_server,
        logs=tmp_path_factory.mktemp("services"), configure=configure,
    ) as running:  # fmt: skip
        yield running
