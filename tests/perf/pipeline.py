"""The four services as real processes, each on its own fresh database: one process per
role and two API processes sharing the port, as `make up` runs them (`BENCH_LAYOUT=roles`,
`BENCH_API_PROCESSES=2`, the defaults), or one `python -m <service> all` process each
(`BENCH_LAYOUT=all`), for the end-to-end benchmarks and those of intake alone; with what those
need: citizens and their tokens, one dossier as the portal sends it (draft + one 2 KiB
attachment + submit), and the timestamps the services record (the event's `occurred_at`
in the emitter's outbox, the consumer's inbox `applied_at`, notify's `sent_at`)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from intake.bootstrap import build
from intake.config import IntakeSettings
from services.intake.tests.integration.support import Citizen, add_citizen
from shared.runtime import Runtime
from shared.testing import infra
from shared.testing.processes import ServiceProcess, service_env, start_service
from shared.testing.service import ServiceUnderTest
from tests.perf.support import Http, cpu_of, multipart

SERVICES = ("intake", "workflow", "notify", "stats")
CONSUMERS = ("workflow", "notify", "stats")
PROCEDURE = "1.990104"
AGENCY = "G01.306.000.000"  # Công an tỉnh Bắc Kạn
PDF = b"%PDF-1.7\n" + b"0" * 2048 + b"\nstartxref\n9\n%%EOF\n"  # the 2 KiB attachment
PROFILE = os.environ.get("BENCH_PROFILE")  # a folder: py-spy profiles are written there
LAYOUT = os.environ.get("BENCH_LAYOUT", "roles")
API_PROCESSES = int(os.environ.get("BENCH_API_PROCESSES", "2"))


def draft(phone: str) -> dict[str, Any]:
    return {
        "procedure_code": PROCEDURE, "agency_code": AGENCY, "case_code": "own_information",
        "form": {"requester_name": "Nguyễn Văn An", "requester_phone": phone,
                 "subject_full_name": "Nguyễn Văn An", "subject_personal_id": "001190012345",
                 "requested_information": ["Nơi thường trú"], "purpose": "Bổ sung hồ sơ xin việc"},
        "notify_via": ["sms"], "result_delivery": {"method": "online"},
    }  # fmt: skip


def layout() -> str:
    """The processes of each service in this run, in words."""
    if LAYOUT == "all":
        return "as one `all` process"
    return f"as {API_PROCESSES} api + 1 consume + 1 relay processes"


@dataclass
class Stack:
    namespace: str
    amqp_url: str
    store: infra.ObjectStoreServer
    logs: Path
    urls: dict[str, str] = field(default_factory=dict)
    envs: dict[str, dict[str, str]] = field(default_factory=dict)
    # Per service, its first API (or `all`) process, which the client's URL names...
    processes: dict[str, ServiceProcess] = field(default_factory=dict)
    # ... and the others of the layout (more API processes, consume, relay).
    others: dict[str, list[ServiceProcess]] = field(default_factory=dict)
    # Per service, the role of each of its processes, in the order of `all_of`.
    roles: dict[str, list[str]] = field(default_factory=dict)
    citizens: list[Citizen] = field(default_factory=list)
    intake_runtime: Runtime[Any] | None = None

    def dsn(self, service: str) -> str:
        return self.urls[service].replace("postgresql+asyncpg", "postgresql")

    def pid(self, service: str) -> int:
        return self.processes[service].process.pid

    def all_of(self, service: str) -> list[ServiceProcess]:
        return [self.processes[service], *self.others.get(service, [])]

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by each service, all its processes together."""
        return {
            name: sum(cpu_of(p.process.pid) for p in self.all_of(name)) for name in self.processes
        }

    def cpu_by_role(self, service: str) -> dict[str, float]:
        """CPU seconds used so far by each role of a service (its API processes together)."""
        used: dict[str, float] = {}
        for role, process in zip(self.roles[service], self.all_of(service), strict=True):
            used[role] = used.get(role, 0.0) + cpu_of(process.process.pid)
        return used

    def process_of(self, service: str, role: str) -> ServiceProcess:
        """The service's (first) process of `role`."""
        return self.all_of(service)[self.roles[service].index(role)]

    def layout(self) -> str:
        return f"per service {layout()}"

    async def start(self, service: str) -> ServiceProcess:
        """The service's processes of the layout; returns the first (API or `all`)."""
        roles: list[tuple[str, dict[str, str]]]
        if LAYOUT == "all":
            roles = [("all", {})]
        else:
            shared = {f"{service.upper()}_REUSE_PORT": "true"}
            # The consumer last: a backlog waiting in its queue is drained from the moment
            # it starts, and the drain benchmark's first look must not come after the
            # other processes' start-up, when much of it is already applied.
            roles = [("api", shared)] * API_PROCESSES + [
                (role, {f"{service.upper()}_METRICS_PORT": str(infra.free_port())})
                for role in ("relay", "consume")
            ]
        started = []
        try:
            for n, (role, extra) in enumerate(roles):
                log = self.logs / f"{service}-{role}-{len(list(self.logs.iterdir()))}.log"
                env = {**self.envs[service], **extra}
                started.append(await start_service(service, env, log, role=role, migrate=n == 0))
        except BaseException:
            for process in started:
                process.stop()
            raise
        self.processes[service], self.others[service] = started[0], started[1:]
        self.roles[service] = [role for role, _ in roles]
        return started[0]

    def stop(self, service: str) -> None:
        for process in reversed(self.all_of(service)):
            process.stop()
        del self.processes[service]
        self.others.pop(service, None)
        self.roles.pop(service, None)

    async def query(self, service: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        connection = await asyncpg.connect(self.dsn(service))
        try:
            return list(await connection.fetch(sql, *args))
        finally:
            await connection.close()

    async def commits(self) -> int:
        """Transactions committed in the four databases so far (pg_stat_database)."""
        names = [u.rsplit("/", 1)[1] for u in self.urls.values()]
        rows = await self.query(
            "intake",
            "SELECT coalesce(sum(xact_commit), 0) AS n FROM pg_stat_database"
            " WHERE datname = ANY($1::text[])",
            names,
        )
        return int(rows[0]["n"])

    async def counts(self) -> dict[str, int]:
        """Events published (all outboxes) and applied (all inboxes) so far."""
        published = applied = 0
        for service in SERVICES:
            rows = await self.query(
                service,
                "SELECT (SELECT count(*) FROM outbox WHERE published_at IS NOT NULL) AS p,"
                " (SELECT count(*) FROM inbox) AS a",
            )
            published += rows[0]["p"]
            applied += rows[0]["a"]
        return {"published": published, "applied": applied}


async def open_stack(
    amqp_url: str, store: infra.ObjectStoreServer, logs: Path, citizens: int
) -> Stack:
    stack = Stack(f"bench{uuid.uuid4().hex[:8]}", amqp_url, store, logs)
    for name in SERVICES:
        url = await infra.recreate_database(f"dvc_bench_{name}_{uuid.uuid4().hex[:6]}")
        stack.urls[name] = url
        extra = {}
        if name == "intake":
            extra = {"limit_submit_per_ip_hour": str(10**9),
                     "limit_submit_per_account_hour": str(10**9)}  # fmt: skip
        if name == "workflow":
            # Records for the national portal are kept, not sent to whatever listens on
            # the stand-in's default port: an outside system, not part of the pipeline
            # (each failed attempt would count in workflow's CPU).
            extra = {"national_url": ""}
        stack.envs[name] = service_env(
            name, database_url=url, amqp_url=amqp_url, namespace=stack.namespace, store=store,
            port=infra.free_port(), **extra,
        )  # fmt: skip
        await stack.start(name)
    runtime = Runtime(build(IntakeSettings(database_url=stack.urls["intake"])))
    stack.intake_runtime = runtime
    under_test = ServiceUnderTest(stack.processes["intake"].url, runtime, app=None)  # type: ignore[arg-type]
    stack.citizens = [await add_citizen(under_test) for _ in range(citizens)]
    return stack


@dataclass
class Alone:
    """One service's processes of the layout, for a benchmark of that service alone: the
    first (API or `all`) serves `url`; CPU and profiles cover the processes that serve
    requests (`api`) or all of them."""

    stack: Stack
    service: str

    @property
    def url(self) -> str:
        return self.stack.processes[self.service].url

    @property
    def processes(self) -> list[ServiceProcess]:
        return self.stack.all_of(self.service)

    @property
    def api_pids(self) -> list[int]:
        """The processes that serve requests: every API process, or the one `all`."""
        count = 1 if LAYOUT == "all" else API_PROCESSES
        return [p.process.pid for p in self.processes[:count]]

    @property
    def pids(self) -> list[int]:
        return [p.process.pid for p in self.processes]

    def stop(self) -> None:
        self.stack.stop(self.service)


async def start_alone(
    service: str, env: dict[str, str], namespace: str, amqp_url: str,
    store: infra.ObjectStoreServer, logs: Path,
) -> Alone:  # fmt: skip
    """`service` alone with `env` (from `service_env`), its processes as the layout says."""
    stack = Stack(namespace, amqp_url, store, logs)
    stack.envs[service] = env
    await stack.start(service)
    return Alone(stack, service)


async def close_stack(stack: Stack) -> None:
    for name in list(stack.processes):
        stack.stop(name)
    if stack.intake_runtime is not None:
        await stack.intake_runtime.db.dispose()
    for url in stack.urls.values():
        await infra.drop_database(url.rsplit("/", 1)[1])
    await infra.delete_namespace(stack.amqp_url, stack.namespace)


async def submit_one(http: Http, citizen: Citizen) -> str:
    """One dossier as the portal sends it: draft, one 2 KiB PDF, submit; returns its code."""
    status, body = await http.request(
        "POST", "/api/v1/dossiers", json_body=draft(citizen.phone), headers=citizen.auth
    )
    if status != 201:
        raise RuntimeError(f"draft: {status} {body[:200]!r}")
    dossier_id = _field(body, "id")
    kind, form = multipart(
        {"document_code": "TP1"}, [("file", "to-khai.pdf", "application/pdf", PDF)]
    )
    status, body = await http.request(
        "POST", f"/api/v1/dossiers/{dossier_id}/attachments", body=form,
        headers={**citizen.auth, "content-type": kind},
    )  # fmt: skip
    if status != 201:
        raise RuntimeError(f"attachment: {status} {body[:200]!r}")
    status, body = await http.request(
        "POST", f"/api/v1/dossiers/{dossier_id}/submit", json_body={"commitment": True},
        headers=citizen.auth,
    )  # fmt: skip
    if status != 200:
        raise RuntimeError(f"submit: {status} {body[:200]!r}")
    return _field(body, "code")


def _field(body: bytes, name: str) -> str:
    import json

    return str(json.loads(body)[name])


async def submitted_times(stack: Stack, since: int) -> dict[uuid.UUID, datetime]:
    """occurred_at of every dossier.submitted intake wrote after outbox id `since`."""
    rows = await stack.query(
        "intake",
        "SELECT event_id, (envelope->>'occurred_at')::timestamptz AS at FROM outbox"
        " WHERE event_type = 'dossier.submitted' AND id > $1",
        since,
    )
    return {r["event_id"]: r["at"] for r in rows}


async def applied_times(
    stack: Stack, service: str, ids: list[uuid.UUID]
) -> dict[uuid.UUID, datetime]:
    rows = await stack.query(
        service, "SELECT event_id, applied_at FROM inbox WHERE event_id = ANY($1::uuid[])", ids
    )
    return {r["event_id"]: r["applied_at"] for r in rows}


async def sms_sent_times(stack: Stack, ids: list[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    rows = await stack.query(
        "notify",
        "SELECT event_id, max(sent_at) AS at FROM deliveries WHERE event_id = ANY($1::uuid[])"
        " AND channel = 'sms' AND sent_at IS NOT NULL GROUP BY event_id",
        ids,
    )
    return {r["event_id"]: r["at"] for r in rows}


async def last_outbox_id(stack: Stack) -> int:
    rows = await stack.query("intake", "SELECT coalesce(max(id), 0) AS n FROM outbox")
    return int(rows[0]["n"])


class Profiler:
    """py-spy attached to one process (`BENCH_PROFILE` set), GIL-holding samples only
    (with `gil=False` every thread's running samples, C code outside the GIL included:
    hashing, socket writes), as raw collapsed stacks; stopped with SIGINT, which makes
    py-spy write what it has."""

    def __init__(self, pid: int, name: str, *, gil: bool = True) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        if PROFILE:
            folder = Path(PROFILE)
            folder.mkdir(parents=True, exist_ok=True)
            self.output = folder / f"{name}.txt"
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), *(["--gil"] if gil else []), "--nonblocking", "--rate", "200",
                 "-f", "raw", "-o", str(self.output)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip

    async def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)
            await asyncio.to_thread(self.process.wait, 30)
