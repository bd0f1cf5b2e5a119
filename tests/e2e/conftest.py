"""The four services as real processes (`python -m <service> all`), each on its own
fresh database, sharing a test vhost and the test object store; notify sends mail to a
real SMTP server (`mailbox`) and SMS to its development provider."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

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
from shared.testing.processes import ServiceProcess, service_env, start_service
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
    logs = tmp_path_factory.mktemp("services")
    namespace = f"e2e{uuid.uuid4().hex[:8]}"
    databases = {name: f"dvc_test_e2e_{name}_{uuid.uuid4().hex[:6]}" for name in SERVICES}
    running: dict[str, ServiceProcess] = {}
    try:
        for name in SERVICES:
            port = INTAKE_PORT if name == "intake" else infra.free_port()
            settings = (
                {
                    **relying_party_env(identity_provider[0], f"http://127.0.0.1:{port}"),
                    "gateway_url": gateway.url,
                    "gateway_tmn_code": gateway.tmn_code,
                    "gateway_hash_secret": gateway.hash_secret,
                }
                if name == "intake"
                else {}
            )
            env = service_env(
                name,
                database_url=await infra.recreate_database(databases[name]),
                amqp_url=rabbit[1],
                namespace=namespace,
                store=object_store_server,
                port=port,
                **settings,
            )
            if name == "workflow":
                # Records for the national portal are kept, not sent to whatever listens
                # on the stand-in's default port (test_national_sync covers the sending).
                env["WORKFLOW_NATIONAL_URL"] = ""
            if name == "notify":
                # notify checks officers' tokens against the keys workflow publishes.
                jwks = f"{running['workflow'].url}/.well-known/jwks.json"
                env["NOTIFY_OFFICER_JWKS_URL"] = jwks
                env["NOTIFY_SMTP_HOST"], env["NOTIFY_SMTP_PORT"] = "127.0.0.1", str(smtp[1])
                env["NOTIFY_SMS_PROVIDER"] = "development"
            running[name] = await start_service(name, env, logs / f"{name}.log")
        yield running
    finally:
        for service in running.values():
            service.stop()
        for database in databases.values():
            await infra.drop_database(database)
        await infra.delete_namespace(rabbit[1], namespace)
