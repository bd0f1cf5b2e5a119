"""Services as real processes (`python -m <service> all`, or one role per process:
`api`, `consume`, `relay`), as they run in production: for end-to-end tests, benchmarks
and the fault tests, where the client must not share the service's CPU and a process must
be killable alone."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from shared.config import BaseServiceSettings
from shared.runtime import Runtime, ServiceDefinition
from shared.testing import infra
from shared.testing.fixtures import Backing
from shared.testing.service import ServiceUnderTest


def listens(pid: int, port: int) -> bool:
    """Whether process `pid` itself holds a socket listening on `port` (several
    processes may share one port with SO_REUSEPORT: an answer on the port does not tell
    which of them is up)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                # local address "ADDR:PORT" in hex; state 0A is LISTEN
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{fields[9]}]")
    try:
        descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for descriptor in descriptors:
        with contextlib.suppress(OSError):
            if os.readlink(descriptor) in inodes:
                return True
    return False


@dataclass
class ServiceProcess:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    # What it was started with, so that a test can start it again (changed or not).
    env: dict[str, str] = field(default_factory=dict, repr=False)

    def kill(self) -> None:
        """kill -9, as a crash or the OOM killer: no shutdown code runs."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def service_env(
    name: str,
    *,
    database_url: str,
    amqp_url: str,
    namespace: str,
    store: infra.ObjectStoreServer,
    port: int,
    **settings: str,
) -> dict[str, str]:
    prefix = name.upper()
    values = {
        "DATABASE_URL": database_url,
        "AMQP_URL": amqp_url,
        "AMQP_NAMESPACE": namespace,
        "S3_ENDPOINT": store.endpoint,
        "S3_ACCESS_KEY": store.access_key,
        "S3_SECRET_KEY": store.secret_key,
        "PORT": str(port),
        **{k.upper(): v for k, v in settings.items()},
    }
    return {**os.environ, **{f"{prefix}_{k}": v for k, v in values.items()}}


async def migrate_service(name: str, env: dict[str, str]) -> None:
    migrated = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", name, "migrate"],
        env=env,
        capture_output=True,
        timeout=120,
    )
    if migrated.returncode != 0:
        raise RuntimeError(migrated.stdout.decode() + migrated.stderr.decode())


async def start_service(
    name: str, env: dict[str, str], log: Path, *, role: str = "all", migrate: bool = True
) -> ServiceProcess:
    """Migrate (unless told not to), start `python -m <name> <role>`, and wait for its
    `/readyz` = 200: on `<PREFIX>_PORT` with the API, else on `<PREFIX>_METRICS_PORT`."""
    if migrate:
        await migrate_service(name, env)
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: ASYNC220 (starting it, not waiting for it)
            [sys.executable, "-m", name, role],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    port = env[f"{name.upper()}_{'PORT' if role in ('all', 'api') else 'METRICS_PORT'}"]
    service = ServiceProcess(name, f"http://127.0.0.1:{port}", process, log, env)

    async def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited:\n{log.read_text()[-3000:]}")
        # The port may be shared with the service's other API processes (SO_REUSEPORT):
        # this one must listen there itself before the answer says anything of it.
        if not listens(process.pid, int(port)):
            return False
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                return (await client.get(f"{service.url}/readyz")).status_code == 200
        except httpx.TransportError:
            return False

    try:
        await infra.eventually(ready, timeout=60, interval=0.2, what=f"{name} /readyz")
    except BaseException:
        service.stop()
        raise
    return service


@contextlib.asynccontextmanager
async def process_under_test(
    name: str,
    build: Callable[..., ServiceDefinition[Any]],
    settings_class: type[BaseServiceSettings],
    backing: Backing,
    log: Path,
    **settings: str,
) -> AsyncIterator[tuple[ServiceProcess, ServiceUnderTest]]:
    """`python -m <name> all` on a free port with these `settings`, so that its CPU and its
    memory are its own; the runtime beside it only writes and reads the test's data (its
    app is None: every request goes to the process)."""
    env = service_env(name, **backing, port=infra.free_port(), **settings)
    process = await start_service(name, env, log)
    runtime = Runtime(build(settings_class(database_url=backing["database_url"])))
    try:
        yield process, ServiceUnderTest(process.url, runtime, app=None)  # type: ignore[arg-type]
    finally:
        process.stop()
        await runtime.db.dispose()


# A service's port and its settings (for `service_env`), given the services started before it.
Configure = Callable[[str, Mapping[str, ServiceProcess]], tuple[int, dict[str, str]]]


@contextlib.asynccontextmanager
async def process_stack(
    names: Sequence[str],
    label: str,
    *,
    amqp_url: str,
    store: infra.ObjectStoreServer,
    logs: Path,
    configure: Configure,
) -> AsyncIterator[dict[str, ServiceProcess]]:
    """Each of `names` in turn as `python -m <name> all`, on a fresh database of its own
    (`dvc_test_<label>_<name>_…`), all in one new namespace of the broker; `configure` gives
    each its port and settings, so that one may point at another started before it. At the
    end every one is stopped, the databases dropped and the namespace deleted."""
    namespace = f"{label}{uuid.uuid4().hex[:8]}"
    databases = {name: f"dvc_test_{label}_{name}_{uuid.uuid4().hex[:6]}" for name in names}
    running: dict[str, ServiceProcess] = {}
    try:
        for name in names:
            port, settings = configure(name, running)
            env = service_env(
                name, database_url=await infra.recreate_database(databases[name]),
                amqp_url=amqp_url, namespace=namespace, store=store, port=port, **settings,
            )  # fmt: skip
            running[name] = await start_service(name, env, logs / f"{name}.log")
        yield running
    finally:
        for service in running.values():
            service.stop()
        for database in databases.values():
            await infra.drop_database(database)
        await infra.delete_namespace(amqp_url, namespace)
