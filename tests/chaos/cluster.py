"""The four services as separate processes per role (`python -m <service> api|consume|
relay`), any number of replicas of each, on their own databases in a PostgreSQL cluster of
the tests' own, their own object store and a RabbitMQ node of the tests' own, so that one
process can be killed, frozen or doubled alone while the rest keeps running, and the
broker, the database or the store can be stopped without touching anyone else's."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from intake.bootstrap import build
from intake.config import IntakeSettings
from services.intake.tests.integration.support import Citizen, add_citizen
from shared.runtime import Runtime
from shared.testing import infra
from shared.testing.private import PrivateBroker, PrivatePostgres
from shared.testing.processes import ServiceProcess, migrate_service, service_env, start_service
from shared.testing.service import ServiceUnderTest

SERVICES = ("intake", "workflow", "notify", "stats")
ROLES = ("api", "consume", "relay")
# Short retry steps: a handler that always raises is parked within seconds, not 11 minutes.
RETRY_DELAYS_MS = "[200, 1000]"
# Connections per process (and as many in overflow): up to 24 processes share the
# machine's PostgreSQL with everyone else's tests.
POOL = "4"


@dataclass
class Cluster:
    namespace: str
    broker: PrivateBroker
    postgres: PrivatePostgres
    store: infra.RestartableStore
    logs: Path
    urls: dict[str, str] = field(default_factory=dict)
    envs: dict[str, dict[str, str]] = field(default_factory=dict)
    # (service, role) -> the replicas running, oldest first.
    running: dict[tuple[str, str], list[ServiceProcess]] = field(default_factory=dict)
    citizens: list[Citizen] = field(default_factory=list)
    intake_runtime: Runtime[Any] | None = None
    started: int = 0
    # Messages deliberately poisoned, by the parking queue they must end in.
    poisoned: dict[str, int] = field(default_factory=dict)
    # Every load run against this cluster: the ledger joins all of them.
    loads: list[Any] = field(default_factory=list)

    vhost = "/"

    @property
    def amqp_url(self) -> str:
        return self.broker.amqp_url

    def dsn(self, service: str) -> str:
        return self.urls[service].replace("postgresql+asyncpg", "postgresql")

    def api_urls(self, service: str) -> list[str]:
        return [p.url for p in self.running[(service, "api")]]

    def replicas(self, service: str, role: str) -> list[ServiceProcess]:
        return self.running.setdefault((service, role), [])

    async def start(self, service: str, role: str, port: int | None = None) -> ServiceProcess:
        """One more replica of `service`'s `role`, on ports of its own (its API on `port`
        if given: an API restarted where the load balancer still sends requests)."""
        self.started += 1
        env = {
            **self.envs[service],
            f"{service.upper()}_PORT": str(port or infra.free_port()),
            f"{service.upper()}_METRICS_PORT": str(infra.free_port()),
        }
        log = self.logs / f"{self.started:03d}-{service}-{role}.log"
        process = await start_service(service, env, log, role=role, migrate=False)
        self.replicas(service, role).append(process)
        return process

    def kill(self, process: ServiceProcess) -> None:
        """kill -9 of one replica; it is no longer counted as running."""
        process.kill()
        for replicas in self.running.values():
            if process in replicas:
                replicas.remove(process)

    def stop(self, process: ServiceProcess) -> None:
        process.stop()
        for replicas in self.running.values():
            if process in replicas:
                replicas.remove(process)

    @staticmethod
    def freeze(process: ServiceProcess) -> None:
        os.killpg(process.process.pid, signal.SIGSTOP)

    @staticmethod
    def thaw(process: ServiceProcess) -> None:
        os.killpg(process.process.pid, signal.SIGCONT)

    async def query(self, service: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        connection = await asyncpg.connect(self.dsn(service))
        try:
            return list(await connection.fetch(sql, *args))
        finally:
            await connection.close()

    async def start_all(self, which: list[tuple[str, str]]) -> None:
        """Start these side by side; if one fails to start, the others are cancelled (and
        stop what they started) rather than left starting in the background."""
        async with asyncio.TaskGroup() as group:
            for service, role in which:
                group.create_task(self.start(service, role))

    async def start_all_on(self, which: list[tuple[str, str, int | None]]) -> None:
        """As `start_all`, each (service, role) on its given API port (or a free one)."""
        async with asyncio.TaskGroup() as group:
            for service, role, port in which:
                group.create_task(self.start(service, role, port))

    async def ensure_one_of_each(self) -> None:
        """Every role of every service running, one replica at least (a test that killed
        a process without restarting it leaves the next one a whole system)."""
        await self.start_all([(s, r) for s in SERVICES for r in ROLES if not self.replicas(s, r)])


async def open_cluster(
    broker: PrivateBroker,
    postgres: PrivatePostgres,
    store: infra.RestartableStore,
    logs: Path,
    citizens: int,
    heartbeat: int,
) -> Cluster:
    """`heartbeat`: the AMQP heartbeat (s) every process asks for, short so that a
    process frozen past it is noticed by the broker within the test."""
    cluster = Cluster(f"chaos{uuid.uuid4().hex[:8]}", broker, postgres, store, logs)
    amqp_url = f"{broker.amqp_url}?heartbeat={heartbeat}"
    try:
        for name in SERVICES:
            url = await infra.recreate_database(
                f"dvc_chaos_{name}_{uuid.uuid4().hex[:6]}", postgres.admin_dsn
            )
            cluster.urls[name] = url
            extra = {"retry_delays_ms": RETRY_DELAYS_MS, "database_pool_size": POOL}
            if name == "intake":
                extra |= {"limit_submit_per_ip_hour": str(10**9),
                          "limit_submit_per_account_hour": str(10**9)}  # fmt: skip
            cluster.envs[name] = service_env(
                name, database_url=url, amqp_url=amqp_url, namespace=cluster.namespace,
                store=store.server, port=0, **extra,
            )  # fmt: skip
            await migrate_service(name, cluster.envs[name])
        # intake first: its catalogue is what workflow and notify learn procedures from.
        for name in SERVICES:
            await cluster.start_all([(name, role) for role in ROLES])
            if name == "workflow":
                jwks = f"{cluster.api_urls('workflow')[0]}/.well-known/jwks.json"
                cluster.envs["notify"]["NOTIFY_OFFICER_JWKS_URL"] = jwks
        runtime = Runtime(build(IntakeSettings(database_url=cluster.urls["intake"])))
        cluster.intake_runtime = runtime
        under_test = ServiceUnderTest(cluster.api_urls("intake")[0], runtime, app=None)  # type: ignore[arg-type]
        cluster.citizens = [await add_citizen(under_test) for _ in range(citizens)]
    except BaseException:
        # A process that did start must not outlive a cluster that did not.
        await close_cluster(cluster)
        raise
    return cluster


async def close_cluster(cluster: Cluster) -> None:
    for replicas in cluster.running.values():
        for process in list(replicas):
            process.stop()
        replicas.clear()
    if cluster.intake_runtime is not None:
        await cluster.intake_runtime.db.dispose()
    # The databases, queues and objects go with the private cluster, node and store.
