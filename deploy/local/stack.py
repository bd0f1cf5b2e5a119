"""Run the whole system on one machine, without containers: `make up | down | status`.

`up` checks that PostgreSQL and RabbitMQ answer (they are the machine's own services,
never started from here), creates the four databases, applies every service's
migrations, starts the object store (SeaweedFS `weed mini`, an S3 gateway) and then
the four services, one process each running all its roles (`python -m <svc> all`),
and waits until every `/readyz` says ready.

`down` stops exactly the processes `up` started, found through their pid files, never
by name: other copies of the same programs (test runs, a second checkout) may be
running on the machine.

`status` tells, for each process, whether it runs and whether the service is ready.

Everything lives under `.local/` in the repository: `pids/`, `logs/` and the object
store's data in `seaweedfs/`, which survives `down` and is reused by the next `up`.

The services get the caller's environment unchanged, so they run on their own
development defaults (127.0.0.1, ports 8001-8004, databases `dvc_<svc>`) unless the
caller overrides them. The object store is given the credentials the services default
to. `DVC_PG_HOST`, `DVC_PG_PORT`, `DVC_PG_USER` and `DVC_AMQP_URL` point the stack at
another PostgreSQL or RabbitMQ; they are then handed to each service as its
`<SVC>_DATABASE_URL` / `<SVC>_AMQP_URL` unless those are set already.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / ".local"
PIDS = LOCAL / "pids"
LOGS = LOCAL / "logs"
# Relative to ROOT, the processes' working directory; the same path the tests and a
# manual `weed mini -dir=.local/seaweedfs` use, so the data is shared between them.
STORE_DIR = Path(".local/seaweedfs")
BIN = Path(".venv/bin")

READY_TIMEOUT = 60.0
STORE_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
MIGRATE_TIMEOUT = 180.0

# --- What the stack is made of -------------------------------------------------------


@dataclass(frozen=True)
class Service:
    name: str
    default_port: int

    @property
    def env_prefix(self) -> str:
        return f"{self.name.upper()}_"

    @property
    def port(self) -> int:
        # The service reads <SVC>_PORT itself; follow it so we poll the right port.
        return int(os.environ.get(f"{self.env_prefix}PORT", self.default_port))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database(self) -> str:
        return f"dvc_{self.name}"


SERVICES = (
    Service("intake", 8001),
    Service("workflow", 8002),
    Service("notify", 8003),
    Service("stats", 8004),
)

STORE_NAME = "seaweedfs"
# A local SMTP server that keeps every message notify sends as a file (Maildir), so the
# citizens' and officers' mail can be read without a real mail server.
MAIL_NAME = "mail"
MAIL_HOST, MAIL_PORT = "127.0.0.1", 1025
MAIL_DIR = Path(".local/mail")
# The services' development defaults for the object store (shared/config.py): the
# gateway must accept exactly these.
S3_ACCESS_KEY = "dvc-dev"
S3_SECRET_KEY = "dvc-dev-secret-key"  # noqa: S105 - a development default, not a secret
S3_HOST, S3_PORT = "127.0.0.1", 8333
BUCKETS = ("dossier-attachments", "dossier-results")

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

# --- Where PostgreSQL and RabbitMQ are -----------------------------------------------

PG_DEFAULTS = {"host": "127.0.0.1", "port": "5432", "user": "postgres"}
AMQP_DEFAULT = "amqp://guest:guest@127.0.0.1:5672/"


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


def store_env() -> dict[str, str]:
    # `weed mini` takes its S3 identity from these two variables.
    return {
        **os.environ,
        "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY,
    }


# --- Small helpers ---------------------------------------------------------------------


class StackError(Exception):
    """A failure explained to the user; printed without a traceback, exit status 1."""


def say(message: str = "") -> None:
    print(message, flush=True)


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log yet)"
    return "\n".join("    " + line for line in text.splitlines()[-lines:]) or "(empty log)"


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.3) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def tcp_open(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_taken(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something listens on host:port (binding is what would fail for us)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like the servers themselves: connections lingering in TIME_WAIT don't count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


# --- Processes and their pid files -----------------------------------------------------


def pid_file(name: str) -> Path:
    return PIDS / f"{name}.pid"


def read_pid(name: str) -> int | None:
    try:
        pid = int(pid_file(name).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    # 0, 1 and negative numbers mean "every process" or "a whole group" to kill().
    return pid if pid > 1 else None


def _proc_state(pid: int) -> str | None:
    """The process state letter from /proc (None if gone or /proc unavailable)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is parenthesised and may contain spaces: split after it.
    return stat.rsplit(")", 1)[1].split()[0]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie nobody reaped yet has exited for our purposes.
    return _proc_state(pid) != "Z"


def _proc_identity(pid: int) -> tuple[list[str], Path]:
    """The command line and working directory of `pid` (OSError if unreadable)."""
    for _ in range(3):
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        if argv != [""]:
            return argv[:-1] if argv[-1] == "" else argv, Path(os.readlink(f"/proc/{pid}/cwd"))
        # A process in the middle of exec() shows an empty command line for an instant.
        time.sleep(0.1)
    raise OSError(f"no command line for pid {pid}")


def is_ours(pid: int, name: str) -> bool:
    """Whether `pid` is still the process `up` started as `name` (pids get reused).

    Only a process that provably is ours may be signalled: `spawn` made it the leader
    of its own process group, it runs in this repository, and its command line is the
    one `up` gave it. Where /proc exists but does not tell (permissions), the answer is
    no; only on systems without /proc is the pid file trusted.
    """
    if pid <= 1 or pid == os.getpid():
        return False
    try:
        if os.getpgid(pid) != pid or pid == os.getpgrp():
            return False
    except ProcessLookupError:
        return False
    if not Path("/proc").is_dir():
        return alive(pid)
    try:
        argv, cwd = _proc_identity(pid)
    except OSError:
        return False
    if cwd != ROOT or len(argv) < 2:
        return False
    program, args = Path(argv[0]).name, argv[1:]
    if name == STORE_NAME:
        return program == "weed" and args[:2] == ["mini", f"-dir={STORE_DIR}"]
    if name == MAIL_NAME:
        return program.startswith("python") and args == mail_argv()[1:]
    return program.startswith("python") and args == ["-m", name, "all"]


def running(name: str) -> int | None:
    """The pid of our live process `name`, or None (a stale pid file is removed)."""
    pid = read_pid(name)
    if pid is None:
        return None
    if alive(pid) and is_ours(pid, name):
        return pid
    pid_file(name).unlink(missing_ok=True)
    return None


# The processes started by this run of the script, by name.
STARTED: dict[str, subprocess.Popen[bytes]] = {}


def exited(name: str) -> bool:
    """Whether process `name` is gone; asked of the child itself when we just started it."""
    if name in STARTED:
        return STARTED[name].poll() is not None
    return running(name) is None


def spawn(name: str, argv: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start `argv` detached from this script, logging to .local/logs/<name>.log.

    Its own session (and so process group) lets `down` signal it and any children as
    one, and keeps a Ctrl-C on `make up` from reaching it.
    """
    LOGS.mkdir(parents=True, exist_ok=True)
    PIDS.mkdir(parents=True, exist_ok=True)
    log_path = LOGS / f"{name}.log"
    if log_path.exists():
        # Keep the previous run's log for a post-mortem; one generation is enough.
        log_path.replace(log_path.with_suffix(".log.1"))
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pid_file(name).write_text(f"{proc.pid}\n")
    STARTED[name] = proc
    return proc


def group_alive(pgid: int) -> bool:
    """Whether any process of the group is still running (zombies excepted)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            return True
    return False


def group_gone(*pgids: int) -> bool:
    return not any(group_alive(pgid) for pgid in pgids)


def signal_group(pid: int, sig: signal.Signals) -> None:
    # `spawn` made each process the leader of its own group, whose id is its pid; the
    # group also holds whatever it forked. killpg(0 or 1) would reach this script's own
    # group or every process of the machine: refuse rather than trust a pid file.
    if pid <= 1 or pid == os.getpgrp():
        raise StackError(f"refusing to signal process group {pid}")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def stop(names: Iterable[str]) -> None:
    """SIGTERM the groups, wait for them to exit, SIGKILL what is left; drop pid files."""
    targets: dict[str, int] = {}
    for name in names:
        pid = running(name)
        if pid is None:
            if pid_file(name).exists():
                pid_file(name).unlink()
            say(f"  {name}: not running")
            continue
        signal_group(pid, signal.SIGTERM)
        targets[name] = pid
    if not targets:
        return
    wait_until(functools.partial(group_gone, *targets.values()), STOP_TIMEOUT)
    for name, pid in targets.items():
        if group_alive(pid):
            signal_group(pid, signal.SIGKILL)
            wait_until(functools.partial(group_gone, pid), 5.0)
            say(f"  {name}: killed (pid {pid}) after {STOP_TIMEOUT:.0f} s without exiting")
        else:
            say(f"  {name}: stopped (pid {pid})")
        pid_file(name).unlink(missing_ok=True)


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


async def _pg_query(sql: str, *args: object, database: str = "postgres") -> list[object]:
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
    from urllib.parse import urlsplit

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
        raise StackError("\n\n".join(problems))


def create_databases() -> None:
    existing = {
        row["datname"]  # type: ignore[index]
        for row in asyncio.run(_pg_query("SELECT datname FROM pg_database"))
    }
    for service in SERVICES:
        if service.database in existing:
            continue
        # CREATE DATABASE takes no parameters; the names are our own constants.
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
        raise StackError(
            f"{service.name}: migrations still running after {MIGRATE_TIMEOUT:.0f} s"
            " (a lock held on its database?)"
        ) from None
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()[-30:]
        raise StackError(
            f"{service.name}: migrations failed (exit {result.returncode}):\n"
            + "\n".join("    " + line for line in output)
        )
    say(f"  {service.name}: migrated")


# --- The object store ------------------------------------------------------------------


def store_argv() -> list[str]:
    return [
        str(BIN / "weed"),
        "mini",
        f"-dir={STORE_DIR}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-bucket={','.join(BUCKETS)}",
        *(f"{flag}={port}" for flag, port in {**STORE_PORTS, **STORE_DISABLED}.items()),
    ]


def s3_answers() -> bool:
    """Whether the S3 gateway answers an authenticated request with our credentials."""
    from minio import Minio

    client = Minio(
        f"{S3_HOST}:{S3_PORT}", access_key=S3_ACCESS_KEY, secret_key=S3_SECRET_KEY, secure=False
    )
    try:
        client.bucket_exists(BUCKETS[0])
    except Exception:
        return False
    return True


def start_store() -> None:
    pid = running(STORE_NAME)
    if pid is not None:
        say(f"  object store: already running (pid {pid})")
    else:
        taken = [f"{port} ({flag[1:]})" for flag, port in STORE_PORTS.items() if port_taken(port)]
        if taken:
            raise StackError(
                "the object store cannot start, ports already in use on 127.0.0.1: "
                + ", ".join(taken)
                + "\n  Find the owner with: ss -ltnp | grep -E ':("
                + "|".join(str(p) for p in STORE_PORTS.values())
                + ")\\b'"
            )
        (ROOT / STORE_DIR).mkdir(parents=True, exist_ok=True)
        proc = spawn(STORE_NAME, store_argv(), store_env())
        say(f"  object store: started (pid {proc.pid})")
    log = LOGS / f"{STORE_NAME}.log"

    def ready() -> bool:
        if exited(STORE_NAME):
            raise StackError(f"the object store exited; end of {log}:\n{log_tail(log)}")
        return s3_answers()

    if not wait_until(ready, STORE_TIMEOUT, interval=0.5):
        raise StackError(
            f"the object store's S3 gateway ({S3_HOST}:{S3_PORT}) did not answer within"
            f" {STORE_TIMEOUT:.0f} s; end of {log}:\n{log_tail(log)}\n"
            "`make down` stops what was started."
        )
    say(f"  object store: S3 answers on {S3_HOST}:{S3_PORT}")


def mail_argv() -> list[str]:
    return [
        str(BIN / "python"), "-m", "aiosmtpd", "-n", "-l", f"{MAIL_HOST}:{MAIL_PORT}",
        "-c", "aiosmtpd.handlers.Mailbox", str(MAIL_DIR),
    ]  # fmt: skip


def start_mail() -> None:
    pid = running(MAIL_NAME)
    if pid is not None:
        say(f"  mail: already running (pid {pid})")
        return
    if port_taken(MAIL_PORT):
        say(f"  mail: port {MAIL_PORT} is taken: notify will send to whatever listens there")
        return
    for folder in ("tmp", "new", "cur"):  # a Maildir
        (ROOT / MAIL_DIR / folder).mkdir(parents=True, exist_ok=True)
    proc = spawn(MAIL_NAME, mail_argv(), dict(os.environ))
    if not wait_until(lambda: tcp_open(MAIL_HOST, MAIL_PORT), 15):
        log = LOGS / f"{MAIL_NAME}.log"
        raise StackError(f"the mail server did not start; end of {log}:\n{log_tail(log)}")
    say(f"  mail: SMTP on {MAIL_HOST}:{MAIL_PORT} (pid {proc.pid}), messages in {MAIL_DIR}/new")


# --- The services ------------------------------------------------------------------------


def readyz(service: Service, timeout: float = 5.0) -> tuple[int | None, str]:
    """(HTTP status, body) of the service's /readyz; (None, reason) if it does not answer."""
    url = f"{service.base_url}/readyz"  # always http://127.0.0.1:<port>
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"no answer ({reason})"


def start_services() -> None:
    to_start = []
    for service in SERVICES:
        pid = running(service.name)
        if pid is not None:
            say(f"  {service.name}: already running (pid {pid})")
        else:
            to_start.append(service)
    busy = [f"{s.port} ({s.name})" for s in to_start if port_taken(s.port)]
    if busy:
        raise StackError(
            "ports already in use on 127.0.0.1: " + ", ".join(busy) + "\n"
            "  Another copy of a service runs there? Find it with: ss -ltnp"
        )
    for service in to_start:
        argv = [str(BIN / "python"), "-m", service.name, "all"]
        proc = spawn(service.name, argv, service_env(service))
        say(f"  {service.name}: started (pid {proc.pid}) on :{service.port}")


def wait_services_ready() -> None:
    pending = list(SERVICES)
    deadline = time.monotonic() + READY_TIMEOUT
    while pending:
        for service in list(pending):
            if exited(service.name):
                log = LOGS / f"{service.name}.log"
                raise StackError(
                    f"{service.name} exited during start-up; end of {log}:\n{log_tail(log)}\n"
                    "`make down` stops the rest."
                )
            status, _ = readyz(service, timeout=2.0)
            if status == 200:
                say(f"  {service.name}: ready")
                pending.remove(service)
        if pending and time.monotonic() >= deadline:
            reports = []
            for service in pending:
                status, body = readyz(service)
                log = LOGS / f"{service.name}.log"
                reports.append(
                    f"{service.name}: /readyz -> {status or '-'} {body}\n"
                    f"  end of {log}:\n{log_tail(log)}"
                )
            raise StackError(
                f"not ready after {READY_TIMEOUT:.0f} s:\n\n"
                + "\n\n".join(reports)
                + "\n\n`make down` stops what was started."
            )
        if pending:
            time.sleep(0.5)


def print_urls() -> None:
    say()
    say("The system runs:")
    for s in SERVICES:
        url = s.base_url
        say(f"  {s.name:<9} API {url}   docs {url}/docs   metrics {url}/metrics")
    say(
        f"  object store  S3 http://{S3_HOST}:{S3_PORT} (access key {S3_ACCESS_KEY},"
        f" secret {S3_SECRET_KEY}), buckets {', '.join(BUCKETS)}"
    )
    say(
        f"                admin UI http://127.0.0.1:{STORE_PORTS['-admin.port']}"
        f"   filer UI http://127.0.0.1:{STORE_PORTS['-filer.port']}"
        f"   master UI http://127.0.0.1:{STORE_PORTS['-master.port']}"
    )
    say(f"  mail          SMTP {MAIL_HOST}:{MAIL_PORT}, messages in {ROOT / MAIL_DIR}/new")
    say(
        "  SMS           http://127.0.0.1:8003/api/v1/dev/sms (the development provider keeps them)"
    )
    say(f"  logs          {LOGS}/<name>.log (previous run: <name>.log.1)")
    say(f"  data          {ROOT / STORE_DIR} (kept across `make down`)")
    say("Stop it with `make down`; `make status` tells what runs.")


# --- Commands ----------------------------------------------------------------------------


def all_names() -> list[str]:
    return [STORE_NAME, MAIL_NAME, *(s.name for s in SERVICES)]


def cmd_up() -> int:
    live = {name: pid for name in all_names() if (pid := running(name)) is not None}
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
    say("Services")
    start_services()
    wait_services_ready()
    print_urls()
    return 0


def cmd_down() -> int:
    say("Stopping")
    # Services first, so that none loses the object store while still serving.
    stop(s.name for s in SERVICES)
    stop([STORE_NAME, MAIL_NAME])
    return 0


def cmd_status() -> int:
    healthy = True
    for name in all_names():
        pid = running(name)
        state = f"running (pid {pid})" if pid else "not running"
        healthy &= pid is not None
        say(f"  {name:<9} {state}")
    for service in SERVICES:
        status, body = readyz(service, timeout=3.0)
        healthy &= status == 200
        say(f"  {service.name:<9} {service.base_url}/readyz -> {status or '-'} {body}")
    store = "answers" if s3_answers() else "does not answer"
    healthy &= store == "answers"
    say(f"  {'s3':<9} http://{S3_HOST}:{S3_PORT} {store}")
    # Non-zero when anything is down, for scripts that ask "is it up?".
    return 0 if healthy else 3


COMMANDS = {"up": cmd_up, "down": cmd_down, "status": cmd_status}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in COMMANDS:
        say(f"usage: {Path(sys.argv[0]).name} {'|'.join(COMMANDS)}")
        return 2
    try:
        return COMMANDS[argv[0]]()
    except StackError as exc:
        say(f"\nerror: {exc}")
        return 1
    except KeyboardInterrupt:
        say("\ninterrupted; what was started keeps running: `make down` stops it")
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
