"""A service under test: migrated on a fresh database, wired to the test broker vhost and
object store, served by a real uvicorn server on a free port (real HTTP, so streaming and
size limits behave as in production)."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from shared.config import BaseServiceSettings
from shared.contracts import Envelope
from shared.runtime import Role, Runtime, ServiceDefinition, create_app, migrate, proxy_options
from shared.testing import infra
from shared.testing.infra import ObjectStoreServer, eventually, free_port


@dataclass
class ServiceUnderTest:
    url: str
    runtime: Runtime[Any]
    app: FastAPI

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, **{"timeout": 30, **kwargs})

    async def publish(self, envelope: Envelope) -> None:
        """Publish an event on the service's exchange as another service's relay would."""
        await self.runtime.broker.publish_event(
            envelope.model_dump_json().encode(),
            envelope.type,
            message_id=str(envelope.id),
            type=envelope.type,
            app_id=envelope.source,
        )


def service_settings(
    settings_class: type[BaseServiceSettings],
    *,
    database_url: str,
    amqp_url: str,
    namespace: str,
    store: ObjectStoreServer,
    **overrides: Any,
) -> Any:
    return settings_class(
        database_url=database_url,
        amqp_url=amqp_url,
        amqp_namespace=namespace,
        s3_endpoint=store.endpoint,
        s3_access_key=store.access_key,
        s3_secret_key=store.secret_key,
        retry_delays_ms=[100, 200],
        **overrides,
    )


# Migrating a new database runs the DDL of every migration of the service: a second or
# more per test. PostgreSQL copies a database in a fraction of that, so each service is
# migrated once per test run into a template, which the tests' new databases copy. A
# database that already has tables (a service started again on its data, a test's own
# schema) is migrated as usual.
_templates: dict[tuple[str, str, str], str] = {}


async def migrate_for_test(definition: ServiceDefinition[Any]) -> None:
    url = definition.settings.database_url
    if not await infra.has_no_tables(url):
        await asyncio.to_thread(migrate, definition)
        return
    admin, _ = infra.server_and_name(url)
    key = (admin, definition.name, str(definition.migrations))
    if key not in _templates:
        name = f"dvc_test_template_{definition.name}_{uuid.uuid4().hex[:8]}"
        template_url = await infra.recreate_database(name, admin)
        settings = definition.settings.model_copy(update={"database_url": template_url})
        await asyncio.to_thread(migrate, dataclasses.replace(definition, settings=settings))
        _templates[key] = name
    await infra.copy_database(url, _templates[key])


async def drop_templates() -> None:
    """Drop the templates this run made (at the end of the test session)."""
    while _templates:
        (admin, _, _), name = _templates.popitem()
        await infra.drop_database(name, admin)


@asynccontextmanager
async def running_service(
    build: Callable[..., ServiceDefinition[Any]],
    settings: BaseServiceSettings,
    roles: frozenset[Role] = frozenset(Role),
    port: int | None = None,
) -> AsyncIterator[ServiceUnderTest]:
    """The service on `port` (a free one unless the test must know it beforehand: an
    identity provider that redirects to it, say)."""
    definition = build(settings)
    await migrate_for_test(definition)
    runtime = Runtime(definition)
    app = create_app(runtime, set(roles))
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            lifespan="on",
            **proxy_options(settings),
        )
    )
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()  # raises what stopped it
        return server.started

    await eventually(started, timeout=30, what="the service to start")
    try:
        yield ServiceUnderTest(f"http://127.0.0.1:{port}", runtime, app)
    finally:
        server.should_exit = True
        await task


StartService = Callable[..., Awaitable[ServiceUnderTest]]


@asynccontextmanager
async def service_starter(
    build: Callable[..., ServiceDefinition[Any]],
    settings_class: type[BaseServiceSettings],
    *,
    database_url: str,
    amqp_url: str,
    namespace: str,
    store: ObjectStoreServer,
    **defaults: Any,
) -> AsyncIterator[StartService]:
    """`start(roles=..., port=None, **overrides)` runs the service with the test's settings
    (every role, or `roles=`); all stop at the end."""
    async with AsyncExitStack() as stack:

        async def start(
            roles: frozenset[Role] = frozenset(Role), *, port: int | None = None, **overrides: Any
        ) -> ServiceUnderTest:
            settings = service_settings(
                settings_class, database_url=database_url, amqp_url=amqp_url,
                namespace=namespace, store=store, **{**defaults, **overrides},
            )  # fmt: skip
            return await stack.enter_async_context(
                running_service(build, settings, roles, port=port)
            )

        yield start
