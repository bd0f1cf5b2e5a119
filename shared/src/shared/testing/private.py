"""A RabbitMQ node and a PostgreSQL cluster of a test's own, for the faults that stop or
block the whole server: the machine's broker and database are shared by everyone's tests
and must never be stopped, paused or alarmed.

The node runs as the `rabbitmq` user (whose Erlang cookie `rabbitmqctl` uses) and the
cluster as `postgres` (initdb refuses root), each under a fresh directory of /tmp they own,
on free ports, with no plugin and none of the machine's configuration.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from shared.testing import infra

RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")


def _as(user: str) -> list[str]:
    """The command prefix that runs as `user` (nothing when the tests already are)."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", user, "--"]


def _owned_dir(user: str, prefix: str) -> Path:
    """A fresh directory that `user` owns (pytest's tmp dirs are private to root)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    if os.geteuid() == 0:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return path


# --- RabbitMQ -------------------------------------------------------------------------


@dataclass
class PrivateBroker:
    node: str
    port: int
    dist_port: int
    base: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def amqp_url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def ctl(self, *args: str) -> str:
        return infra.rabbitmqctl(*args, node=self.node)

    def _env(self) -> dict[str, str]:
        home = pwd.getpwnam("rabbitmq").pw_dir if os.geteuid() == 0 else os.environ["HOME"]
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": home,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_PID_FILE": str(self.base / "pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            # Not the machine's /etc/rabbitmq/rabbitmq.conf, which binds the shared port.
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
        }

    def start(self) -> None:
        """Start the node and wait until its applications run (its queues are back)."""
        (self.base / "pid").unlink(missing_ok=True)
        with (self.base / "server.log").open("ab") as log:
            self.process = subprocess.Popen(
                [*_as("rabbitmq"), str(RABBITMQ_BIN / "rabbitmq-server")],
                env=self._env(), stdout=log, stderr=subprocess.STDOUT, cwd=self.base,
            )  # fmt: skip
        try:
            infra.wait_for(
                lambda: (self.base / "pid").exists() or self._exited(),
                timeout=60, interval=0.2, what="the private broker's pid file",
            )  # fmt: skip
            self.ctl("wait", "--timeout", "90", str(self.base / "pid"))
            self.ctl("await_startup", "--timeout", "90")
        except BaseException:
            self.kill()
            raise

    def _exited(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            log = (self.base / "server.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the private broker exited:\n{log}")
        return False

    def stop(self) -> None:
        """The whole node stopped (connections closed by the server, the port gone)."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self.ctl("stop")
        except subprocess.SubprocessError:
            self.kill()
            return
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        pid_file = self.base / "pid"
        if pid_file.exists():
            with suppress(ValueError, ProcessLookupError):
                os.kill(int(pid_file.read_text().strip()), 9)
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def raise_memory_alarm(self) -> None:
        """Every publisher blocked (the server stops reading from publishing
        connections), as when the node's memory passes its high watermark."""
        self.ctl("set_vm_memory_high_watermark", "0.0000001")

    def clear_memory_alarm(self) -> None:
        self.ctl("set_vm_memory_high_watermark", "0.4")

    def memory_alarm(self) -> bool:
        listed = self.ctl("eval", "rabbit_alarm:get_alarms().")
        return "memory" in listed


@contextmanager
def private_rabbitmq() -> Iterator[PrivateBroker]:
    """A RabbitMQ node of the test's own, guest allowed from 127.0.0.1, its `/` vhost
    empty; stopped and its files removed afterwards."""
    if not (RABBITMQ_BIN / "rabbitmq-server").exists():
        raise RuntimeError(f"{RABBITMQ_BIN}/rabbitmq-server not found: needs a local RabbitMQ")
    base = _owned_dir("rabbitmq", "dvc-rabbit-")
    port, dist_port = infra.free_port(), infra.free_port()
    (base / "rabbitmq.conf").write_text(
        f"listeners.tcp.default = 127.0.0.1:{port}\nloopback_users = none\n"
    )
    (base / "enabled_plugins").write_text("[].\n")
    if os.geteuid() == 0:
        entry = pwd.getpwnam("rabbitmq")
        for name in ("rabbitmq.conf", "enabled_plugins"):
            os.chown(base / name, entry.pw_uid, entry.pw_gid)
    broker = PrivateBroker(f"dvc{uuid.uuid4().hex[:8]}@localhost", port, dist_port, base)
    try:
        broker.start()
        yield broker
    finally:
        broker.stop()
        shutil.rmtree(base, ignore_errors=True)


# --- PostgreSQL -----------------------------------------------------------------------


@dataclass
class PrivatePostgres:
    port: int
    base: Path

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        options = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c max_connections=400 -c shared_buffers=64MB"
        )
        subprocess.run(
            [*_as("postgres"), shutil.which("pg_ctl") or "pg_ctl", "-D", str(self.base / "data"),
             "-l", str(self.base / "server.log"), "-w", "-t", "60", "-o", options, *args],
            check=True, capture_output=True, timeout=90,
        )  # fmt: skip

    def start(self) -> None:
        self._ctl("start")

    def stop(self, mode: str = "fast") -> None:
        """`fast`: every session ended (transactions rolled back), then shut down."""
        self._ctl("-m", mode, "stop")


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of the test's own (trust for `postgres` on 127.0.0.1);
    stopped and its files removed afterwards."""
    base = _owned_dir("postgres", "dvc-pg-")
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("initdb not found: needs a local PostgreSQL")
    subprocess.run(
        [*_as("postgres"), initdb, "-D", str(base / "data"), "-A", "trust", "-U", "postgres",
         "-E", "UTF8", "--no-sync"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    server = PrivatePostgres(infra.free_port(), base)
    try:
        server.start()
        yield server
    finally:
        try:
            server.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped (a test that stopped it and failed before starting it)
        finally:
            shutil.rmtree(base, ignore_errors=True)
