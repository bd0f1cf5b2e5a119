"""Run the whole system on one machine, without containers: `make up | down | status`.

`up` checks that PostgreSQL and RabbitMQ answer (they are the machine's own services,
never started from here), creates the four databases, applies every service's
migrations, starts the object store (SeaweedFS `weed mini`, an S3 gateway), a local mail
server, the National Public Service Portal's stand-in, the sandbox payment gateway, the
stand-in for the national identity (the OpenID provider of `oidc/`, on Node.js) and then
the four services, each as one process per role: two `api` processes sharing the
service's port (SO_REUSEPORT, `<SVC>_REUSE_PORT`), one `consume` and one `relay`
(`python -m <svc> <role>`; the README's "Benchmarks" say why), and waits until every
process's `/readyz` says ready.

`down` stops exactly the processes `up` started, `status` tells, for each, whether it
runs and whether it is ready (see supervisor.py for how).

Everything lives under `.local/` in the repository: `pids/`, `logs/`, the mail notify
sent in `mail/` and the object store's data in `seaweedfs/`, which survives `down` and is
reused by the next `up`.

The services get the caller's environment unchanged, so they run on their own
development defaults (each service's `config.py`: 127.0.0.1, ports 8001-8004, databases
`dvc_<svc>`) unless the caller overrides them; the object store and the mail server are
started where those defaults point. `DVC_PG_HOST`, `DVC_PG_PORT`, `DVC_PG_USER` and
`DVC_AMQP_URL` point the stack at another PostgreSQL or RabbitMQ; they are then handed to
each service as its `<SVC>_DATABASE_URL` / `<SVC>_AMQP_URL` unless those are set already.
"""

from __future__ import annotations

import asyncio
import functools
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from supervisor import (
    Supervisor,
    SupervisorError,
    answers,
    http_get,
    log_tail,
    port_taken,
    say,
    tcp_open,
)

from intake.config import IntakeSettings
from intake.services.context import ATTACHMENTS_BUCKET
from notify.config import NotifySettings
from shared.config import BaseServiceSettings
from shared.testing import gateway, national
from shared.testing.infra import ObjectStoreServer, weed_binary
from shared.testing.processes import listens
from stats.config import StatsSettings
from workflow.config import WorkflowSettings
from workflow.services.context import RESULTS_BUCKET

S = TypeVar("S", bound=BaseServiceSettings)

ROOT = Path(__file__).resolve().parents[2]
SUPERVISOR = Supervisor(ROOT, ROOT / ".local")
# Relative to ROOT, the processes' working directory; the same path the tests and a
# manual `weed mini -dir=.local/seaweedfs` use, so the data is shared between them.
STORE_DIR = Path(".local/seaweedfs")
MAIL_DIR = Path(".local/mail")
BIN = Path(".venv/bin")

READY_TIMEOUT = 60.0
STORE_TIMEOUT = 60.0
STAND_IN_TIMEOUT = 15.0
MIGRATE_TIMEOUT = 180.0


def development_defaults(settings: type[S]) -> S:
    """The settings a service runs with when none of its variables is set (read under a
    prefix nothing sets), development secrets included."""
    return settings(_env_prefix="DVC_STACK_UNSET_")


# --- What the stack is made of -------------------------------------------------------


@dataclass(frozen=True)
class Service:
    settings: type[BaseServiceSettings]

    @property
    def name(self) -> str:
        return self.settings.service_name

    @property
    def env_prefix(self) -> str:
        return self.settings.model_config.get("env_prefix") or ""

    @functools.cached_property
    def defaults(self) -> BaseServiceSettings:
        return development_defaults(self.settings)

    @property
    def port(self) -> int:
        # The service reads <SVC>_PORT itself; follow it so we poll the right port.
        return int(os.environ.get(f"{self.env_prefix}PORT", self.defaults.port))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database(self) -> str:
        return urlsplit(self.defaults.database_url).path.lstrip("/")

    @property
    def metrics_port(self) -> int:
        return int(os.environ.get(f"{self.env_prefix}METRICS_PORT", self.defaults.metrics_port))

    @property
    def processes(self) -> list[Process]:
        """The service's processes: API_PROCESSES `api` sharing the service's port, then
        `consume` on the service's metrics port and `relay` on the one RELAY_PORT_OFFSET
        above it."""
        api = [
            Process(self, f"{self.name}-api-{n}", "api", self.port, {"REUSE_PORT": "true"})
            for n in range(1, API_PROCESSES + 1)
        ]
        relay = self.metrics_port + RELAY_PORT_OFFSET
        return [
            *api,
            Process(self, f"{self.name}-consume", "consume", self.metrics_port, {}),
            Process(self, f"{self.name}-relay", "relay", relay, {"METRICS_PORT": str(relay)}),
        ]


@dataclass(frozen=True)
class Process:
    """One process of a service: `python -m <svc> <role>`, its health on `port`."""

    service: Service
    name: str
    role: str
    port: int
    # Settings of this process only, without the service's prefix.
    settings: dict[str, str]

    @property
    def argv(self) -> list[str]:
        return [str(BIN / "python"), "-m", self.service.name, self.role]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        prefix = self.service.env_prefix
        return {**service_env(self.service), **{prefix + k: v for k, v in self.settings.items()}}


# API processes per service: two on two cores (a process uses one core at most; measured
# in the README's "Benchmarks"). The relays' metrics ports sit above the consumers'.
API_PROCESSES = 2
RELAY_PORT_OFFSET = 10

INTAKE, NOTIFY = Service(IntakeSettings), Service(NotifySettings)
SERVICES = (INTAKE, Service(WorkflowSettings), NOTIFY, Service(StatsSettings))

STORE_NAME = "seaweedfs"
# The gateway must accept exactly the credentials the services default to.
STORE = ObjectStoreServer(
    endpoint=INTAKE.defaults.s3_endpoint,
    access_key=INTAKE.defaults.s3_access_key,
    secret_key=INTAKE.defaults.secret("s3_secret_key"),
)
S3_PORT = int(STORE.endpoint.rsplit(":", 1)[1])
BUCKETS = (ATTACHMENTS_BUCKET, RESULTS_BUCKET)

# Every port `weed mini` opens, pinned explicitly so that the list checked before the
# start is the list actually used, whatever a future weed release defaults to.
STORE_PORTS = {
    "-master.port": 9333,
    "-master.port.grpc": 19333,
    "-volume.port": 9340,
    "-volume.port.grpc": 19340,
    "-filer.port": 8888,
    "-filer.port.grpc": 18888,
    "-s3.port": S3_PORT,
    "-s3.port.grpc": 18333,
    "-s3.port.iceberg": 8181,
    "-webdav.port": 7333,
    "-admin.port": 23646,
    "-admin.port.grpc": 33646,
}
# weed's Lance namespace server defaults to 9101, intake's metrics port (used when
# intake runs its roles as separate processes); nothing here needs it.
STORE_DISABLED = {"-s3.port.lance": 0}

# A local SMTP server, where notify sends by default, that keeps every message as a file
# (Maildir), so the citizens' and officers' mail can be read without a real mail server.
MAIL_NAME = "mail"
_NOTIFY_DEFAULTS = development_defaults(NotifySettings)
MAIL_HOST, MAIL_PORT = _NOTIFY_DEFAULTS.smtp_host, _NOTIFY_DEFAULTS.smtp_port

# --- Where PostgreSQL and RabbitMQ are -----------------------------------------------

_DEFAULT_DATABASE = urlsplit(INTAKE.defaults.database_url)
PG_DEFAULTS = {
    "host": _DEFAULT_DATABASE.hostname or "127.0.0.1",
    "port": str(_DEFAULT_DATABASE.port or 5432),
    "user": _DEFAULT_DATABASE.username or "postgres",
}
AMQP_DEFAULT = INTAKE.defaults.amqp_url


def pg_params() -> dict[str, str]:
    return {
        "host": os.environ.get("DVC_PG_HOST", PG_DEFAULTS["host"]),
        "port": os.environ.get("DVC_PG_PORT", PG_DEFAULTS["port"]),
        "user": os.environ.get("DVC_PG_USER", PG_DEFAULTS["user"]),
    }


def amqp_url() -> str:
    return os.environ.get("DVC_AMQP_URL", AMQP_DEFAULT)


def service_env(service: Service) -> dict[str, str]:
    """The caller's environment, plus the DVC_* overrides translated for the service.

    Nothing is added when the defaults are in use: the service then resolves the same
    database and broker by itself.
    """
    env = dict(os.environ)
    pg = pg_params()
    if pg != PG_DEFAULTS:
        url = f"postgresql+asyncpg://{pg['user']}@{pg['host']}:{pg['port']}/{service.database}"
        env.setdefault(f"{service.env_prefix}DATABASE_URL", url)
    if amqp_url() != AMQP_DEFAULT:
        env.setdefault(f"{service.env_prefix}AMQP_URL", amqp_url())
    return env


def store_argv() -> list[str]:
    return [
        weed_binary(),
        "mini",
        f"-dir={STORE_DIR}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-bucket={','.join(BUCKETS)}",
        *(f"{flag}={port}" for flag, port in {**STORE_PORTS, **STORE_DISABLED}.items()),
    ]


def store_env() -> dict[str, str]:
    # `weed mini` takes its S3 identity from these two variables.
    return {
        **os.environ,
        "AWS_ACCESS_KEY_ID": STORE.access_key,
        "AWS_SECRET_ACCESS_KEY": STORE.secret_key,
    }


def mail_argv() -> list[str]:
    return [
        str(BIN / "python"), "-m", "aiosmtpd", "-n", "-l", f"{MAIL_HOST}:{MAIL_PORT}",
        "-c", "aiosmtpd.handlers.Mailbox", str(MAIL_DIR),
    ]  # fmt: skip


# The National Public Service Portal's stand-in (shared/testing/national.py), where
# workflow sends its records by default, with the credentials workflow defaults to.
NATIONAL_NAME = "national"
_WORKFLOW_DEFAULTS = development_defaults(WorkflowSettings)
NATIONAL_URL = _WORKFLOW_DEFAULTS.national_url
NATIONAL_PORT = int(urlsplit(NATIONAL_URL).port or 80)


def national_argv() -> list[str]:
    return national.argv(
        NATIONAL_PORT,
        client_id=_WORKFLOW_DEFAULTS.national_client_id,
        client_secret=_WORKFLOW_DEFAULTS.secret("national_client_secret"),
    )


# The stand-in for the national identity (VNeID): `oidc-provider` with intake as its client,
# where intake's development settings point (issuer, client id and secret, callback).
OIDC_NAME = "oidc"
_INTAKE_DEFAULTS = development_defaults(IntakeSettings)
OIDC_ISSUER = _INTAKE_DEFAULTS.oidc_issuer
OIDC_PORT = urlsplit(OIDC_ISSUER).port or 80
OIDC_DIR = Path("deploy/local/oidc")
OIDC_TIMEOUT = 30.0


def oidc_argv() -> list[str]:
    return ["node", str(OIDC_DIR / "server.js")]


def oidc_env() -> dict[str, str]:
    return {
        **os.environ,
        "OIDC_PORT": str(OIDC_PORT),
        "OIDC_ISSUER": OIDC_ISSUER,
        "OIDC_CLIENT_ID": _INTAKE_DEFAULTS.oidc_client_id,
        "OIDC_CLIENT_SECRET": _INTAKE_DEFAULTS.secret("oidc_client_secret"),
        "OIDC_REDIRECT_URIS": _INTAKE_DEFAULTS.oidc_redirect_uri,
        "OIDC_ID_NUMBER_CLAIM": _INTAKE_DEFAULTS.oidc_id_number_claim,
        # Kept across restarts, so that intake's cached keys stay right.
        "OIDC_KEYS_FILE": str(ROOT / ".local" / "oidc-keys.json"),
    }


def service_processes() -> list[Process]:
    return [process for service in SERVICES for process in service.processes]


# The sandbox payment gateway (shared/testing/gateway.py), where intake's development
# settings send the citizens to pay, with intake's terminal code and hash secret; it
# notifies intake's own address.
GATEWAY_NAME = "gateway"
GATEWAY_URL = _INTAKE_DEFAULTS.gateway_url
GATEWAY_PORT = int(urlsplit(GATEWAY_URL).port or 80)


def gateway_argv() -> list[str]:
    return gateway.argv(
        GATEWAY_PORT,
        tmn_code=_INTAKE_DEFAULTS.gateway_tmn_code,
        hash_secret=_INTAKE_DEFAULTS.secret("gateway_hash_secret"),
        ipn_url=f"http://127.0.0.1:{_INTAKE_DEFAULTS.port}/api/v1/payments/notify",
    )


def all_names() -> list[str]:
    return [
        STORE_NAME, MAIL_NAME, NATIONAL_NAME, GATEWAY_NAME, OIDC_NAME,
        *(p.name for p in service_processes()),
    ]  # fmt: skip


# --- PostgreSQL and RabbitMQ -------------------------------------------------------------

PG_HELP = """\
PostgreSQL is needed at {host}:{port} (user {user}, trust authentication).
  Install (Debian/Ubuntu): apt-get install postgresql
  Start:                   pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
  Elsewhere: set DVC_PG_HOST / DVC_PG_PORT / DVC_PG_USER."""

AMQP_HELP = """\
RabbitMQ is needed at {where}.
  Install (Debian/Ubuntu): apt-get install rabbitmq-server
  Start:                   rabbitmq-server -detached
  Elsewhere: set DVC_AMQP_URL (default {default})."""


async def _pg_query(sql: str, *args: object, database: str = "postgres") -> list[Any]:
    import asyncpg

    pg = pg_params()
    conn = await asyncpg.connect(
        host=pg["host"], port=int(pg["port"]), user=pg["user"], database=database, timeout=5
    )
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def check_postgres() -> str | None:
    """None if PostgreSQL answers a query, else what is wrong and how to fix it."""
    pg = pg_params()
    help_text = PG_HELP.format(**pg)
    if not tcp_open(pg["host"], int(pg["port"])):
        return f"nothing listens on {pg['host']}:{pg['port']}.\n{help_text}"
    try:
        asyncio.run(_pg_query("SELECT 1"))
    except Exception as exc:
        return f"it accepts connections but a query fails: {exc!r}\n{help_text}"
    return None


def check_rabbitmq() -> str | None:
    """None if RabbitMQ accepts an AMQP connection, else what is wrong and how to fix it."""
    import aio_pika

    url = amqp_url()
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5672
    # Never print the password of the URL.
    help_text = AMQP_HELP.format(where=f"{host}:{port}", default=AMQP_DEFAULT)
    if not tcp_open(host, port):
        return f"nothing listens on {host}:{port}.\n{help_text}"

    async def connect() -> None:
        connection = await aio_pika.connect(url, timeout=5)
        await connection.close()

    try:
        asyncio.run(connect())
    except Exception as exc:
        return f"it accepts TCP but the AMQP login fails: {type(exc).__name__}: {exc}\n{help_text}"
    return None


def check_infrastructure() -> None:
    problems = []
    for what, check in (("PostgreSQL", check_postgres), ("RabbitMQ", check_rabbitmq)):
        problem = check()
        if problem is None:
            say(f"  {what}: ok")
        else:
            problems.append(f"{what} is not reachable: {problem}")
    if problems:
        raise SupervisorError("\n\n".join(problems))


def create_databases() -> None:
    existing = {row["datname"] for row in asyncio.run(_pg_query("SELECT datname FROM pg_database"))}
    for service in SERVICES:
        if service.database in existing:
            continue
        # CREATE DATABASE takes no parameters; the names are the services' own defaults.
        asyncio.run(_pg_query(f'CREATE DATABASE "{service.database}"'))
        say(f"  created database {service.database}")


def migrate(service: Service) -> None:
    argv = [str(BIN / "python"), "-m", service.name, "migrate"]
    try:
        result = subprocess.run(
            argv,
            cwd=ROOT,
            env=service_env(service),
            capture_output=True,
            text=True,
            timeout=MIGRATE_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise SupervisorError(
            f"{service.name}: migrations still running after {MIGRATE_TIMEOUT:.0f} s"
            " (a lock held on its database?)"
        ) from None
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()[-30:]
        raise SupervisorError(
            f"{service.name}: migrations failed (exit {result.returncode}):\n"
            + "\n".join("    " + line for line in output)
        )
    say(f"  {service.name}: migrated")


# --- The object store and the mail server ------------------------------------------------


def s3_answers() -> bool:
    """Whether the S3 gateway answers an authenticated request with our credentials."""
    from minio import Minio

    client = Minio(
        STORE.endpoint, access_key=STORE.access_key, secret_key=STORE.secret_key, secure=False
    )
    try:
        client.bucket_exists(BUCKETS[0])
    except Exception:
        return False
    return True


def start_store() -> None:
    pid = SUPERVISOR.running(STORE_NAME)
    if pid is not None:
        say(f"  object store: already running (pid {pid})")
    else:
        taken = [f"{port} ({flag[1:]})" for flag, port in STORE_PORTS.items() if port_taken(port)]
        if taken:
            raise SupervisorError(
                "the object store cannot start, ports already in use on 127.0.0.1: "
                + ", ".join(taken)
                + "\n  Find the owner with: ss -ltnp | grep -E ':("
                + "|".join(str(p) for p in STORE_PORTS.values())
                + ")\\b'"
            )
        (ROOT / STORE_DIR).mkdir(parents=True, exist_ok=True)
        pid = SUPERVISOR.start(STORE_NAME, store_argv(), store_env())
        say(f"  object store: started (pid {pid})")
    if not any(SUPERVISOR.wait({STORE_NAME: s3_answers}, STORE_TIMEOUT)):
        log = SUPERVISOR.log(STORE_NAME)
        raise SupervisorError(
            f"the object store's S3 gateway ({STORE.endpoint}) did not answer within"
            f" {STORE_TIMEOUT:.0f} s; end of {log}:\n{log_tail(log)}"
        )
    say(f"  object store: S3 answers on {STORE.endpoint}")


def start_stand_in(
    name: str, label: str, argv: list[str], host: str, port: int, *, taken: str, listening: str
) -> None:
    """Start a stand-in of an outside party (mail server, national portal, payment
    gateway) unless it runs already. Its port held by something else is not an error:
    the service that calls it talks to that (`taken` says which), as it would to the
    real party."""
    pid = SUPERVISOR.running(name)
    if pid is not None:
        say(f"  {label}: already running (pid {pid})")
        return
    if port_taken(port):
        say(f"  {label}: port {port} is taken: {taken}")
        return
    pid = SUPERVISOR.start(name, argv, dict(os.environ))
    if not SUPERVISOR.wait_port(name, host, port, STAND_IN_TIMEOUT):
        log = SUPERVISOR.log(name)
        raise SupervisorError(f"the {label} did not start; end of {log}:\n{log_tail(log)}")
    say(f"  {label}: {listening} (pid {pid})")


def start_mail() -> None:
    for folder in ("tmp", "new", "cur"):  # a Maildir
        (ROOT / MAIL_DIR / folder).mkdir(parents=True, exist_ok=True)
    start_stand_in(
        MAIL_NAME, "mail server", mail_argv(), MAIL_HOST, MAIL_PORT,
        taken="notify will send to whatever listens there",
        listening=f"SMTP on {MAIL_HOST}:{MAIL_PORT}, messages in {MAIL_DIR}/new",
    )  # fmt: skip


def start_national() -> None:
    start_stand_in(
        NATIONAL_NAME, "national portal stand-in", national_argv(), "127.0.0.1", NATIONAL_PORT,
        taken="workflow will send there", listening=NATIONAL_URL,
    )  # fmt: skip


def start_gateway() -> None:
    start_stand_in(
        GATEWAY_NAME, "payment gateway sandbox", gateway_argv(), "127.0.0.1", GATEWAY_PORT,
        taken="intake will send there", listening=GATEWAY_URL,
    )  # fmt: skip


def start_oidc() -> None:
    pid = SUPERVISOR.running(OIDC_NAME)
    if pid is None:
        if not (ROOT / OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
            raise SupervisorError(
                f"the identity provider is not installed: make install ({OIDC_DIR})"
            )
        if port_taken(OIDC_PORT):
            raise SupervisorError(
                f"the identity provider cannot start, port {OIDC_PORT} is taken (ss -ltnp)"
            )
        pid = SUPERVISOR.start(OIDC_NAME, oidc_argv(), oidc_env())
    discovery = f"{OIDC_ISSUER}/.well-known/openid-configuration"
    if not any(SUPERVISOR.wait({OIDC_NAME: functools.partial(answers, discovery)}, OIDC_TIMEOUT)):
        log = SUPERVISOR.log(OIDC_NAME)
        raise SupervisorError(
            f"the identity provider did not answer at {discovery}; end of {log}:\n{log_tail(log)}"
        )
    say(f"  identity provider: {OIDC_ISSUER} (pid {pid})")


# --- The services ------------------------------------------------------------------------


def readyz(process: Process, timeout: float = 5.0) -> tuple[int | None, str]:
    return http_get(f"{process.base_url}/readyz", timeout=timeout)


def ready(process: Process) -> bool:
    pid = SUPERVISOR.running(process.name)
    return pid is not None and listens(pid, process.port) and answers(f"{process.base_url}/readyz")


def start_services() -> None:
    to_start = []
    for process in service_processes():
        pid = SUPERVISOR.running(process.name)
        if pid is not None:
            say(f"  {process.name}: already running (pid {pid})")
        else:
            to_start.append(process)
    # A port the stack's own running processes hold is theirs (the API processes share
    # theirs); any other holder is another copy of a service.
    held = {p.port for p in service_processes() if p not in to_start}
    ports = {p.port: p.name for p in to_start if p.port not in held}
    busy = [f"{port} ({name})" for port, name in ports.items() if port_taken(port)]
    if busy:
        raise SupervisorError(
            "ports already in use on 127.0.0.1: " + ", ".join(busy) + "\n"
            "  Another copy of a service runs there? Find it with: ss -ltnp"
        )
    for process in to_start:
        pid = SUPERVISOR.start(process.name, process.argv, process.env())
        say(f"  {process.name}: started (pid {pid}) on :{process.port}")


def wait_services_ready() -> None:
    # An API process's /readyz is asked on the shared port, so it may be answered by
    # another API process of the service: each must also listen there itself (uvicorn
    # listens once the process has started).
    processes = service_processes()
    checks: dict[str, Callable[[], bool]] = {p.name: functools.partial(ready, p) for p in processes}
    pending = set(checks)
    for name in SUPERVISOR.wait(checks, READY_TIMEOUT):
        say(f"  {name}: ready")
        pending.discard(name)
    if pending:
        reports = []
        for process in (p for p in processes if p.name in pending):
            status, body = readyz(process)
            log = SUPERVISOR.log(process.name)
            reports.append(
                f"{process.name}: /readyz -> {status or '-'} {body}\n"
                f"  end of {log}:\n{log_tail(log)}"
            )
        raise SupervisorError(f"not ready after {READY_TIMEOUT:.0f} s:\n\n" + "\n\n".join(reports))


def print_urls() -> None:
    say()
    say("The system runs:")
    for s in SERVICES:
        url = s.base_url
        say(f"  {s.name:<9} API {url}   docs {url}/docs   metrics {url}/metrics")
    say(
        f"  object store  S3 http://{STORE.endpoint} (access key {STORE.access_key},"
        f" secret {STORE.secret_key}), buckets {', '.join(BUCKETS)}"
    )
    say(
        f"                admin UI http://127.0.0.1:{STORE_PORTS['-admin.port']}"
        f"   filer UI http://127.0.0.1:{STORE_PORTS['-filer.port']}"
        f"   master UI http://127.0.0.1:{STORE_PORTS['-master.port']}"
    )
    say(f"  mail          SMTP {MAIL_HOST}:{MAIL_PORT}, messages in {ROOT / MAIL_DIR}/new")
    say(
        f"  VNeID         {OIDC_ISSUER} (accounts in {OIDC_DIR}/users.json); sign in at"
        f" {INTAKE.base_url}/api/v1/auth/oidc/login"
    )
    say(f"  SMS           {NOTIFY.base_url}/api/v1/dev/sms (the development provider keeps them)")
    say(
        f"  national      {NATIONAL_URL} (stand-in): records received at"
        f" {NATIONAL_URL}/received?ma_ho_so=CODE"
    )
    say(
        f"  payments      {GATEWAY_URL} (sandbox gateway): notifications sent at"
        f" {GATEWAY_URL}/notifications, control at {GATEWAY_URL}/control"
    )
    say(f"  logs          {SUPERVISOR.logs}/<name>.log (previous run: <name>.log.1)")
    say(f"  data          {ROOT / STORE_DIR} (kept across `make down`)")
    say("Stop it with `make down`; `make status` tells what runs.")


# --- Commands ----------------------------------------------------------------------------


def cmd_up() -> int:
    live = {name: pid for name in all_names() if (pid := SUPERVISOR.running(name)) is not None}
    if len(live) == len(all_names()):
        say("Already up: " + ", ".join(f"{n} (pid {p})" for n, p in live.items()))
        wait_services_ready()
        print_urls()
        return 0
    say("Checking PostgreSQL and RabbitMQ")
    check_infrastructure()
    say("Databases")
    create_databases()
    for service in SERVICES:
        migrate(service)
    say("Object store")
    start_store()
    say("Mail")
    start_mail()
    say("National portal stand-in")
    start_national()
    say("Payment gateway sandbox")
    start_gateway()
    say("National identity")
    start_oidc()
    say("Services")
    start_services()
    wait_services_ready()
    print_urls()
    return 0


def cmd_down() -> int:
    say("Stopping")
    # Services first, so that none loses the object store while still serving.
    SUPERVISOR.stop(p.name for p in service_processes())
    SUPERVISOR.stop([STORE_NAME, MAIL_NAME, OIDC_NAME, NATIONAL_NAME, GATEWAY_NAME])
    return 0


def cmd_status() -> int:
    healthy = SUPERVISOR.status(all_names())
    for process in service_processes():
        status, body = readyz(process, timeout=3.0)
        healthy &= status == 200
        say(f"  {process.name:<16} {process.base_url}/readyz -> {status or '-'} {body}")
    store = "answers" if s3_answers() else "does not answer"
    healthy &= store == "answers"
    say(f"  {'s3':<9} http://{STORE.endpoint} {store}")
    # Non-zero when anything is down, for scripts that ask "is it up?".
    return 0 if healthy else 3


COMMANDS = {"up": cmd_up, "down": cmd_down, "status": cmd_status}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in COMMANDS:
        say(f"usage: {Path(sys.argv[0]).name} {'|'.join(COMMANDS)}")
        return 2
    try:
        return COMMANDS[argv[0]]()
    except SupervisorError as exc:
        say(f"\nerror: {exc}")
        if SUPERVISOR.started:
            say("`make down` stops what was started.")
        return 1
    except KeyboardInterrupt:
        say("\ninterrupted; what was started keeps running: `make down` stops it")
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
