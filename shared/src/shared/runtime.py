"""What every service process is made of, and the command line that starts it.

A service's `bootstrap.py` describes itself with a `ServiceDefinition`; the wiring is
the same for every service:

- `Runtime` builds the shared parts (`Resources`: settings, database, outbox, object
  store) and hands them once to the definition's `context` factory, which returns the
  service's own context (its adapters, keys, caches) and does what must be ready before
  the first request or event (a catalogue published, defaults stored);
- that one context is given to the API (`app.state.ctx`, read by `context_of`), to every
  event handler as `handler(ctx, session, envelope, data)` (or, for a handler of runs of
  events, `Batched(apply)`, as `apply(ctx, session, events)`) and to every background
  worker as `worker(ctx, stop)`;
- handlers are keyed by event model, so by `(type, version)`, and checked against the
  service's subscriptions before anything is consumed (`wiring_errors`).

The roles a process runs:
- `api`: the HTTP API,
- `consume`: the inbox consumer of the service's queue, and the service's background
  workers (timers, senders): loops over database rows claimed with `SKIP LOCKED`, so any
  number of `consume` processes can run them side by side,
- `relay`: the outbox relay,

each in its own process (`python -m intake api`) or all in one (`python -m intake all`).
Every process serves `/healthz`, `/readyz` and `/metrics`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any, Generic, Self, TypeVar

import uvicorn
from fastapi import APIRouter, FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shared.api.guard import Limits, RequestGuard
from shared.api.health import health_router
from shared.api.middleware import RequestMiddleware
from shared.api.openapi import install_openapi
from shared.api.problems import install_problem_handlers
from shared.config import BaseServiceSettings
from shared.contracts.envelope import Envelope, EventData
from shared.db.engine import Database
from shared.db.maintenance import MaintenanceLock
from shared.messaging import Batched, Broker, InboxConsumer, Outbox, OutboxRelay, Topology
from shared.messaging.consumer import Handler as BoundHandler
from shared.messaging.consumer import nothing
from shared.messaging.replay import replay_parked
from shared.messaging.topology import wiring_errors
from shared.observability.logging import configure_logging
from shared.observability.metrics import ServiceMetrics, metrics_for
from shared.storage import MinioObjectStore, ObjectStore

log = logging.getLogger(__name__)

S = TypeVar("S", bound=BaseServiceSettings)
C = TypeVar("C")


class Role(StrEnum):
    API = "api"
    CONSUME = "consume"
    RELAY = "relay"


@dataclass(frozen=True)
class Resources(Generic[S]):
    """The parts the runtime builds for every service; a service's context extends it."""

    name: str
    settings: S
    db: Database
    outbox: Outbox
    store: ObjectStore

    @classmethod
    def extend(cls, base: Resources[Any], **own: Any) -> Self:
        """This context class made of `base`'s parts and the service's `own`."""
        parts = {f.name: getattr(base, f.name) for f in dataclasses.fields(Resources)}
        return cls(**parts, **own)


Handler = Callable[[C, AsyncSession, Envelope, Any], Awaitable[None]] | Batched[Any]
"""`handler(ctx, session, envelope, data)`: apply one event within the given transaction;
or `Batched(apply)`, `apply(ctx, session, events)`: a run of events of one type."""


async def apply_one(
    handler: Handler[C], ctx: C, session: AsyncSession, envelope: Envelope, data: Any
) -> None:
    """One event through a service's handler, whichever kind (a command replaying events
    outside the consumer)."""
    if isinstance(handler, Batched):
        await handler.apply(ctx, session, [(envelope, data)])
    else:
        await handler(ctx, session, envelope, data)


def bind(handler: Handler[C], ctx: C) -> BoundHandler:
    """`handler` with the service's context given: what the inbox consumer calls."""
    if handler is ignore:
        return nothing
    if isinstance(handler, Batched):
        return Batched(partial(handler.apply, ctx))
    return partial(handler, ctx)


def bind_all(
    handlers: Mapping[type[EventData], Handler[C]], ctx: C
) -> dict[type[EventData], BoundHandler]:
    """Every handler bound to the context; one `Batched` registered for several types
    stays one object, so that a run of its events may mix those types."""
    bound: dict[int, BoundHandler] = {}
    return {
        model: bound.setdefault(id(handler), bind(handler, ctx))
        for model, handler in handlers.items()
    }


Worker = Callable[[C, asyncio.Event], Coroutine[Any, Any, None]]
"""`worker(ctx, stop)`: a background loop of the `consume` process; returns once `stop`
is set."""


async def ignore(_ctx: Any, _session: AsyncSession, _envelope: Envelope, _data: Any) -> None:
    """The handler of an event a service receives (through a wider binding) and needs
    nothing of: acknowledged, applied to nothing."""


async def repeat(
    stop: asyncio.Event,
    step: Callable[[], Awaitable[int]],
    *,
    full: int,
    pause: float,
    what: str,
    wake: asyncio.Event | None = None,
) -> None:
    """A worker's loop: `step()` until `stop` is set, again at once while it handles a
    `full` batch, after `pause` seconds otherwise, or as soon as `wake` is set (work made
    by this process: the pause is then only for the work others make). A pass that fails
    is logged and the loop goes on: a database away for a moment must not end a worker
    (the rows it claims wait for the next pass)."""
    while not stop.is_set():
        if wake is not None:
            wake.clear()  # what it was set for is claimed by this pass
        try:
            handled = await step()
        except Exception:
            log.exception("worker pass failed", extra={"worker": what})
            handled = 0
        if handled < full:
            await _rest(stop, wake, pause)


async def _rest(stop: asyncio.Event, wake: asyncio.Event | None, pause: float) -> None:
    """Until `stop` or `wake` is set, `pause` seconds at most."""
    waiters = [asyncio.ensure_future(stop.wait())]
    if wake is not None:
        waiters.append(asyncio.ensure_future(wake.wait()))
    try:
        await asyncio.wait(waiters, timeout=pause, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def _bare(resources: Resources[Any]) -> Any:
    return resources


@dataclass
class ServiceDefinition(Generic[C]):
    name: str
    settings: BaseServiceSettings
    migrations: Path
    # Builds the service's context from the runtime's parts, once per process.
    context: Callable[[Resources[Any]], Awaitable[C]] = _bare
    routers: Sequence[APIRouter] = ()
    handlers: Mapping[type[EventData], Handler[C]] = field(default_factory=dict)
    workers: Sequence[Worker[C]] = ()
    # Buckets the service writes; created at start if missing, checked by /readyz.
    buckets: Sequence[str] = ()
    # The lock the consume role holds shared while it runs and a maintenance command takes
    # exclusively (shared/db/maintenance.py); None: the service has no such command.
    maintenance_lock: str | None = None
    version: str = "0.1.0"


class Runtime(Generic[C]):
    def __init__(self, definition: ServiceDefinition[C]) -> None:
        s = definition.settings
        self.definition = definition
        self.settings = s
        self.metrics: ServiceMetrics = metrics_for(definition.name)
        self.db = Database(
            s.database_url,
            pool_size=s.database_pool_size,
            pool_timeout=s.database_pool_timeout_seconds,
        )
        self.topology = Topology(
            namespace=s.amqp_namespace,
            retry_delays_ms=tuple(s.retry_delays_ms),
            delivery_limit=s.delivery_limit,
        )
        self.broker = Broker(s.amqp_url, self.topology, name=definition.name)
        self.store = MinioObjectStore(
            s.s3_endpoint,
            s.s3_access_key,
            s.secret("s3_secret_key"),
            secure=s.s3_secure,
            region=s.s3_region,
        )
        self.outbox = Outbox(definition.name)
        self.resources: Resources[Any] = Resources(
            definition.name, s, self.db, self.outbox, self.store
        )
        self.relay = OutboxRelay(
            self.db, self.broker, self.metrics, linger=s.batch_linger_ms / 1000
        )
        self._ctx: C | None = None
        self._consumer: InboxConsumer | None = None
        self._maintenance: MaintenanceLock | None = None
        self._stop = asyncio.Event()
        self._relay_task: asyncio.Task[None] | None = None
        self._worker_tasks: list[asyncio.Task[None]] = []

    @property
    def ctx(self) -> C:
        """The service's context, built by `start`."""
        if self._ctx is None:
            raise RuntimeError(f"{self.definition.name}: the runtime has not started")
        return self._ctx

    @property
    def checks(self) -> dict[str, Callable[[], Any]]:
        buckets = self.definition.buckets

        async def store() -> None:
            targets: list[str | None] = [*buckets] or [None]
            for bucket in targets:
                await self.store.ping(bucket)

        return {"database": self.db.ping, "broker": self.broker.ping, "store": store}

    async def start(self, roles: set[Role]) -> None:
        definition = self.definition
        # A handler no subscription routes, or a subscription nothing handles, is a
        # deployment mistake: refuse to start rather than leave events unapplied.
        problems = wiring_errors(definition.name, definition.handlers, self.topology.subscriptions)
        if problems:
            raise RuntimeError(f"{definition.name}: " + "; ".join(problems))
        await self.broker.connect()
        await self.store.ensure_buckets(*definition.buckets)
        ctx = self._ctx = await definition.context(self.resources)
        if Role.CONSUME in roles and definition.maintenance_lock is not None:
            self._maintenance = MaintenanceLock(self.db, definition.maintenance_lock)
            await self._maintenance.hold_shared()
        if Role.CONSUME in roles and definition.handlers:
            self._consumer = InboxConsumer(
                definition.name,
                self.db,
                self.broker,
                bind_all(definition.handlers, ctx),
                self.metrics,
                prefetch=self.settings.consumer_prefetch,
                batch_size=self.settings.consumer_batch,
                linger=self.settings.batch_linger_ms / 1000,
            )
            await self._consumer.start()
        elif Role.CONSUME in roles:
            # Nothing handles events yet: leave them in the queue for the version that will.
            log.warning("no event handlers: not consuming", extra={"service": definition.name})
        self._stop.clear()
        if Role.CONSUME in roles:
            self._worker_tasks = [
                asyncio.create_task(worker(ctx, self._stop)) for worker in definition.workers
            ]
        if Role.RELAY in roles:
            self._relay_task = asyncio.create_task(self.relay.run(self._stop))
        log.info("started", extra={"roles": sorted(roles)})

    async def stop(self) -> None:
        self._stop.set()
        if self._consumer is not None:
            await self._consumer.stop()
        if self._relay_task is not None:
            await self._relay_task
        if self._worker_tasks:
            await asyncio.gather(*self._worker_tasks)
        if self._maintenance is not None:
            await self._maintenance.release()
        await self.broker.close()
        await self.db.dispose()


async def context_of(request: Request) -> Any:
    """The service's context, for the API's dependencies (`Depends(context_of)`); a
    coroutine so that FastAPI does not send it to a worker thread."""
    return request.app.state.ctx


def create_app(runtime: Runtime[Any], roles: set[Role]) -> FastAPI:
    definition = runtime.definition

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start(roles)
        app.state.ctx = runtime.ctx
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title=f"dvc-{definition.name}",
        version=definition.version,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    install_problem_handlers(app, runtime.metrics)
    install_openapi(app)
    # The guard inside the request middleware, so shed and refused requests are measured
    # and logged like the others.
    settings = runtime.settings
    limits = Limits(max_in_flight=settings.max_in_flight, max_body=settings.max_body_bytes)
    app.add_middleware(RequestGuard, metrics=runtime.metrics, limits=limits)
    app.add_middleware(RequestMiddleware, metrics=runtime.metrics)
    app.include_router(health_router(runtime.checks))
    if Role.API in roles:
        for router in definition.routers:
            app.include_router(router)
    return app


def proxy_options(settings: BaseServiceSettings) -> dict[str, Any]:
    """uvicorn's handling of `X-Forwarded-For`: believed from the trusted proxies only (by
    default uvicorn believes 127.0.0.1, so any local client could claim any address)."""
    return {
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": ",".join(settings.trusted_proxies) or None,
    }


def migrate(definition: ServiceDefinition[Any], revision: str = "head") -> None:
    """Apply the service's Alembic migrations to its database."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(definition.migrations))
    config.attributes["database_url"] = definition.settings.database_url
    command.upgrade(config, revision)


_ROLES = {
    "api": {Role.API},
    "consume": {Role.CONSUME},
    "relay": {Role.RELAY},
    "all": {Role.API, Role.CONSUME, Role.RELAY},
}


def run_cli(build: Callable[[], ServiceDefinition[Any]], argv: Sequence[str] | None = None) -> None:
    """`python -m <service> api|consume|relay|all|migrate|replay-parked`."""
    definition = build()
    settings = definition.settings
    parser = argparse.ArgumentParser(prog=f"python -m {definition.name}")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in _ROLES:
        commands.add_parser(name, help=f"run the {name} process")
    commands.add_parser("migrate", help="apply database migrations")
    replay = commands.add_parser("replay-parked", help="move parked messages back to the queue")
    replay.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)
    configure_logging(definition.name, settings.log_level)

    if args.command == "migrate":
        migrate(definition)
        return
    runtime = Runtime(definition)
    if args.command == "replay-parked":

        async def _replay() -> None:
            await runtime.broker.connect()
            try:
                moved = await replay_parked(runtime.broker, definition.name, args.limit)
            finally:
                await runtime.broker.close()
            print(
                f"replayed {moved} parked message(s) into {runtime.topology.queue(definition.name)}"
            )

        asyncio.run(_replay())
        return
    roles = _ROLES[args.command]
    port = settings.port if Role.API in roles else settings.metrics_port
    config = uvicorn.Config(
        create_app(runtime, roles),
        host=settings.host,
        port=port,
        log_config=None,
        access_log=False,
        **proxy_options(settings),
        # Finish requests in flight on SIGTERM; the consumer's unacked messages return
        # to the queue, the relay's uncommitted batch is simply published again.
        timeout_graceful_shutdown=20,
    )
    server = uvicorn.Server(config)
    if settings.reuse_port and Role.API in roles:
        server.run(sockets=[shared_socket(settings.host, port)])
    else:
        server.run()


def shared_socket(host: str, port: int) -> socket.socket:
    """A listening socket on `host:port` that other processes may bind as well
    (SO_REUSEPORT): the kernel hands each new connection to one of them. Several API
    processes per machine this way rather than uvicorn's workers, so that every process
    is started, stopped and watched alone, like the consume and relay processes."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    # Bound, not yet listening: uvicorn listens once the process has started (lifespan
    # done), and the kernel hands connections only to listening sockets, so a process
    # still starting or already stopping gets none.
    sock.bind((host, port))
    return sock
