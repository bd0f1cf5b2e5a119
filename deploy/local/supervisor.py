"""Start, watch and stop a few local processes, without containers or a daemon.

Each process is started detached, in its own session (so its own process group, which
also holds whatever it forks), with its output in `<state>/logs/<name>.log` and its pid
and command line in `<state>/pids/<name>.pid`. It is stopped through that file, never by
name: other copies of the same programs (test runs, a second checkout) may be running on
the machine, and a pid is signalled only while it provably is still the process that was
started, since pids get reused.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

STOP_TIMEOUT = 20.0


class SupervisorError(Exception):
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


def http_get(url: str, timeout: float = 5.0) -> tuple[int | None, str]:
    """(HTTP status, body) of a GET of `url`; (None, reason) if nothing answers."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an HTTP URL: {url}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (checked above)
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"no answer ({reason})"


def answers(url: str) -> bool:
    """Whether a GET of `url` answers 200."""
    return http_get(url, timeout=2.0)[0] == 200


# --- Processes as /proc tells them -----------------------------------------------------


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
    # Each process started here leads its own group, whose id is its pid. killpg(0 or 1)
    # would reach this script's own group or every process of the machine: refuse rather
    # than trust a pid file.
    if pid <= 1 or pid == os.getpgrp():
        raise SupervisorError(f"refusing to signal process group {pid}")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


# --- The supervisor ------------------------------------------------------------------------


class Supervisor:
    """The processes started from `root` (their working directory), with their log and pid
    files under `state`."""

    def __init__(self, root: Path, state: Path) -> None:
        self.root = root
        self.pids = state / "pids"
        self.logs = state / "logs"
        # What this run started, by name: asked directly whether it exited.
        self.started: dict[str, subprocess.Popen[bytes]] = {}

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def _pid_file(self, name: str) -> Path:
        return self.pids / f"{name}.pid"

    def _record(self, name: str) -> tuple[int, list[str]] | None:
        """The pid and command line a pid file holds, None if it holds none."""
        try:
            pid_line, argv_line = self._pid_file(name).read_text().split("\n", 1)
            pid, argv = int(pid_line), json.loads(argv_line)
        except (FileNotFoundError, ValueError):
            return None
        # 0, 1 and negative numbers mean "every process" or "a whole group" to kill().
        if pid <= 1 or not isinstance(argv, list):
            return None
        return pid, [str(arg) for arg in argv]

    def _is_ours(self, pid: int, argv: list[str]) -> bool:
        """Whether `pid` is still the process started with `argv`.

        It must lead its own process group, run in `root` and have that command line.
        Where /proc exists but does not tell (permissions), the answer is no; only on
        systems without /proc is the pid file trusted.
        """
        if pid == os.getpid():
            return False
        try:
            if os.getpgid(pid) != pid or pid == os.getpgrp():
                return False
        except ProcessLookupError:
            return False
        if not Path("/proc").is_dir():
            return alive(pid)
        try:
            running_argv, cwd = _proc_identity(pid)
        except OSError:
            return False
        return cwd == self.root and running_argv == argv

    def running(self, name: str) -> int | None:
        """The pid of our live process `name`, or None (a stale pid file is removed)."""
        record = self._record(name)
        if record is not None and alive(record[0]) and self._is_ours(*record):
            return record[0]
        self._pid_file(name).unlink(missing_ok=True)
        return None

    def exited(self, name: str) -> bool:
        """Whether process `name` is gone; asked of the child itself when this run started it."""
        if name in self.started:
            return self.started[name].poll() is not None
        return self.running(name) is None

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> int:
        """Start `argv` in `root`, detached, logging to its log file; returns its pid.

        Its own session keeps a Ctrl-C on this script from reaching it and lets `stop`
        signal it and its children as one group.
        """
        self.logs.mkdir(parents=True, exist_ok=True)
        self.pids.mkdir(parents=True, exist_ok=True)
        log_path = self.log(name)
        if log_path.exists():
            # Keep the previous run's log for a post-mortem; one generation is enough.
            log_path.replace(log_path.with_suffix(".log.1"))
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                list(argv),
                cwd=self.root,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._pid_file(name).write_text(f"{proc.pid}\n{json.dumps(list(argv))}\n")
        self.started[name] = proc
        return proc.pid

    def wait(
        self, checks: Mapping[str, Callable[[], bool]], timeout: float, interval: float = 0.5
    ) -> Iterator[str]:
        """Yield each name once its check passes, until all have or `timeout` is over; a
        process that exits meanwhile is an error, told with the end of its log."""
        pending = dict(checks)
        deadline = time.monotonic() + timeout
        while pending:
            for name, check in list(pending.items()):
                if self.exited(name):
                    log = self.log(name)
                    raise SupervisorError(
                        f"{name} exited during start-up; end of {log}:\n{log_tail(log)}"
                    )
                if check():
                    del pending[name]
                    yield name
            if not pending or time.monotonic() >= deadline:
                return
            time.sleep(interval)

    def wait_port(self, name: str, host: str, port: int, timeout: float) -> bool:
        """Whether process `name` listens on host:port within `timeout`."""
        return any(self.wait({name: functools.partial(tcp_open, host, port)}, timeout))

    def stop(self, names: Iterable[str]) -> None:
        """SIGTERM the groups, wait for them to exit, SIGKILL what is left; drop pid files."""
        targets: dict[str, int] = {}
        for name in names:
            pid = self.running(name)
            if pid is None:
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
            self._pid_file(name).unlink(missing_ok=True)

    def status(self, names: Iterable[str]) -> bool:
        """Tell whether each process runs; True if all do."""
        healthy = True
        for name in names:
            pid = self.running(name)
            healthy &= pid is not None
            say(f"  {name:<9} {f'running (pid {pid})' if pid else 'not running'}")
        return healthy
