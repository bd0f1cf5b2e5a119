"""What every benchmark here measures with: CPU time from the processes' own accounting
(a busy, shared machine distorts wall time far more than CPU time), the machine's load
while a benchmark runs, percentiles, an open-loop schedule in this process and the
load-generator processes (`LoadGenerators`, `loadgen.py`), and the results that
`make bench` writes to `bench-results.json` and prints as a table."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

TICK = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from /proc/<pid>/stat."""
    return sum(cpu_split(pid))


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds a process has used, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, int(fields[12]) / TICK


def own_cpu() -> float:
    """CPU seconds this process (the load generator, every thread) has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def pids_named(*names: str) -> list[int]:
    """Processes whose command is one of `names` (PostgreSQL's backends, RabbitMQ's VM)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm", encoding="utf-8") as comm:
                if comm.read().strip() in names:
                    found.append(int(entry))
        except OSError:
            continue
    return found


def cpu_of_all(pids: Iterable[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_of(pid)
        except OSError:  # a backend that ended meanwhile: its CPU is lost to the sum
            continue
    return total


class Infrastructure:
    """CPU of PostgreSQL (every backend, re-listed at each reading: connections come and
    go) and of RabbitMQ."""

    def postgres(self) -> float:
        return cpu_of_all(pids_named("postgres"))

    def rabbitmq(self) -> float:
        return cpu_of_all(pids_named("beam.smp"))


def _machine_ticks() -> tuple[int, int]:
    with open("/proc/stat", encoding="ascii") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


@dataclass
class Busy:
    """How busy the whole machine was (every process, others' included) while measured."""

    share: float = 0.0

    @property
    def cores(self) -> float:
        return self.share * (os.cpu_count() or 1)


@contextmanager
def machine_busy() -> Iterator[Busy]:
    busy = Busy()
    used, total = _machine_ticks()
    try:
        yield busy
    finally:
        used2, total2 = _machine_ticks()
        busy.share = (used2 - used) / max(total2 - total, 1)


def percentile(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))]


def median(samples: list[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


async def open_loop(
    rate: float,
    duration: float,
    work: Callable[[int], Awaitable[None]],
    *,
    limit: int = 2000,
    failures: Counter[str] | None = None,
) -> tuple[list[float], list[float], int]:
    """Start `work(i)` at its intended time i/rate, whether or not earlier ones have
    finished (open loop: a slow answer does not slow the schedule, so no coordinated
    omission); at most `limit` in flight. Returns (latency from intended start, how late
    each start was, how many failed); `failures` counts them by the first words of what
    they raised."""
    latencies: list[float] = []
    lateness: list[float] = []
    failed = 0
    gate = asyncio.Semaphore(limit)
    count = int(rate * duration)
    start = time.perf_counter() + 0.05

    async def one(i: int, intended: float) -> None:
        nonlocal failed
        try:
            await work(i)
        except Exception as error:
            failed += 1
            if failures is not None:
                failures[" ".join(str(error).split()[:2]) or type(error).__name__] += 1
        else:
            latencies.append(time.perf_counter() - intended)
        finally:
            gate.release()

    tasks = []
    for i in range(count):
        intended = start + i / rate
        delay = intended - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await gate.acquire()
        lateness.append(max(time.perf_counter() - intended, 0.0))
        tasks.append(asyncio.create_task(one(i, intended)))
    await asyncio.gather(*tasks)
    return latencies, lateness, failed


@dataclass
class Figure:
    section: str
    name: str
    value: float
    unit: str
    # The raw limit the figure is bounded by, measured in the same run, in the same unit,
    # and the figure as a share of it (higher is better for rates, lower for costs).
    raw: float | None = None
    raw_name: str | None = None
    ratio: float | None = None
    note: str = ""


@dataclass
class Results:
    started: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    machine: dict[str, Any] = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def add(
        self,
        section: str,
        name: str,
        value: float,
        unit: str,
        *,
        raw: float | None = None,
        raw_name: str | None = None,
        note: str = "",
    ) -> Figure:
        ratio = value / raw if raw else None
        figure = Figure(section, name, value, unit, raw, raw_name, ratio, note)
        self.figures.append(figure)
        return figure

    def write(self, path: Path) -> None:
        self.machine.setdefault("finished", datetime.now(UTC).isoformat(timespec="seconds"))
        body = {
            "started": self.started,
            "machine": self.machine,
            "facts": self.facts,
            "figures": [asdict(f) for f in self.figures],
        }
        path.write_text(json.dumps(body, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    def table(self) -> str:
        lines = [
            f"machine: {self.machine.get('cores')} cores, {self.machine.get('cpu')}, "
            f"load average at start {self.machine.get('load_at_start')}",
        ]
        section = None
        for f in self.figures:
            if f.section != section:
                section = f.section
                lines += ["", f"## {section}",
                          f"{'figure':<52}{'value':>12} {'unit':<12}{'raw limit':>12}  ratio"]  # fmt: skip
            raw = f"{f.raw:>12.4g}" if f.raw is not None else f"{'':>12}"
            ratio = f"  {f.ratio:.2f}" if f.ratio is not None else ""
            note = f"   {f.note}" if f.note else ""
            lines.append(f"{f.name:<52}{f.value:>12.4g} {f.unit:<12}{raw}{ratio}{note}")
        return "\n".join(lines)


def machine_facts() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            names = [
                line.split(":", 1)[1].strip() for line in info if line.startswith("model name")
            ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "load_at_start": [round(x, 2) for x in os.getloadavg()],
    }


class Http:
    """A minimal HTTP/1.1 client over kept-alive connections: the load generator's, at a
    small fraction of httpx's CPU per request (measured beside it in the raw limits), so
    that the generator is not what limits the rate it drives."""

    # A connection idle for longer is not reused: uvicorn closes one idle for 5 s
    # (`timeout_keep_alive`), and a request written as it closes fails with no answer.
    IDLE_SECONDS = 4.0

    def __init__(self, host: str, port: int, *, connections: int = 64) -> None:
        self.host, self.port = host, port
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self._slots = asyncio.Semaphore(connections)

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self._idle:
            reader, writer, since = self._idle.pop()
            if time.monotonic() - since < self.IDLE_SECONDS:
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self.host, self.port)

    @classmethod
    def of(cls, url: str, **kwargs: Any) -> Http:
        host, port = url.split("://", 1)[1].rstrip("/").rsplit(":", 1)
        return cls(host, int(port), **kwargs)

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        json_body: Any = None,
    ) -> tuple[int, bytes]:
        head = {"host": f"{self.host}:{self.port}", **(headers or {})}
        if json_body is not None:
            body = json.dumps(json_body).encode()
            head["content-type"] = "application/json"
        if body or method in ("POST", "PUT", "PATCH"):
            head["content-length"] = str(len(body))
        data = (
            f"{method} {path} HTTP/1.1\r\n".encode()
            + b"".join(f"{k}: {v}\r\n".encode() for k, v in head.items())
            + b"\r\n"
            + body
        )
        async with self._slots:
            reader, writer = await self._connection()
            try:
                writer.write(data)
                status, answer, keep = await self._read(reader)
            except BaseException:
                writer.close()
                raise
            if keep:
                self._idle.append((reader, writer, time.monotonic()))
            else:
                writer.close()
        return status, answer

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                fields[name.strip().lower()] = value.strip()
        if "content-length" in fields:
            answer = await reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding") == "chunked":
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                parts.append(await reader.readexactly(size + 2))
                if size == 0:
                    break
            answer = b"".join(p[:-2] for p in parts)
        else:
            answer = b""
        return status, answer, fields.get("connection") != "close"

    async def close(self) -> None:
        for _, writer, _since in self._idle:
            writer.close()
        self._idle.clear()


def multipart(
    fields: dict[str, str], files: list[tuple[str, str, str, bytes]]
) -> tuple[str, bytes]:
    """(content type, body) of a multipart form: `files` as (field, name, type, content)."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\ncontent-disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    for field_name, filename, kind, content in files:
        parts.append(
            f'--{boundary}\r\ncontent-disposition: form-data; name="{field_name}"; '
            f'filename="{filename}"\r\ncontent-type: {kind}\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
    return f"multipart/form-data; boundary={boundary}", b"".join(
        parts
    ) + f"--{boundary}--\r\n".encode()


# --- The load-generator processes (loadgen.py) ------------------------------------

LOADGEN_CWD = Path(__file__).resolve().parents[2]


@dataclass
class Outcome:
    """Every request of a run: (status, seconds from when it was due, seconds from when it
    was sent, whether it had Retry-After); status 0 is no answer (a transport error)."""

    requests: list[tuple[int, float, float, bool]] = field(default_factory=list)
    lag: list[float] = field(default_factory=list)  # how late the client started each flow
    flows: list[float] = field(default_factory=list)  # seconds of each completed flow
    done: int = 0
    refused: int = 0
    errors: int = 0

    def add(self, part: dict[str, Any]) -> None:
        self.requests += [(s, due, sent, ra) for s, due, sent, ra in part["requests"]]
        self.lag += part["lag"]
        self.flows += part["flows"]
        self.done += part["done"]
        self.refused += part["refused"]
        self.errors += part["errors"]

    def served(self, *, from_sent: bool = False) -> list[float]:
        return [
            sent if from_sent else due
            for s, due, sent, _ in self.requests
            if 0 < s < 500 and s != 429
        ]

    def refusals(self) -> list[tuple[int, float, float, bool]]:
        return [r for r in self.requests if r[0] in (429, 503)]

    def faults(self) -> int:
        return sum(1 for s, *_ in self.requests if s >= 500 and s != 503)


class LoadGenerators:
    """The client processes (`loadgen.py`); each run gives every process the same job and
    its share. `cpu()` is what they have used so far: the client's own cost, reported
    beside every figure it drives."""

    def __init__(self, processes: list[asyncio.subprocess.Process], niceness: list[int]) -> None:
        self.processes = processes
        self.niceness = niceness

    @classmethod
    async def start(cls, count: int) -> LoadGenerators:
        processes, niceness = [], []
        for _ in range(count):
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.perf.loadgen", cwd=LOADGEN_CWD,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, limit=2**28,
            )  # fmt: skip
            assert process.stdout is not None
            hello = json.loads(await process.stdout.readline())
            processes.append(process)
            niceness.append(hello["nice"])
        return cls(processes, niceness)

    def cpu(self) -> float:
        return cpu_of_all(p.pid for p in self.processes)

    async def run(self, base: dict[str, Any], rate: float, seconds: float, start: float) -> Outcome:
        """Flows at `rate` per second for `seconds` from `start` (monotonic clock)."""
        return await self._job({**base, "rate": rate, "seconds": seconds, "start": start})

    async def closed(self, base: dict[str, Any], count: int, concurrency: int) -> Outcome:
        """`count` flows, `concurrency` at a time across the processes (closed loop)."""
        share, extra = divmod(concurrency, len(self.processes))
        assert share > 0, "fewer flows at once than load-generator processes"
        out = Outcome()
        job = {**base, "count": count, "workers": len(self.processes)}
        for index, process in enumerate(self.processes):
            assert process.stdin is not None
            own = {**job, "index": index, "concurrency": share + (index < extra)}
            process.stdin.write(json.dumps(own).encode() + b"\n")
            await process.stdin.drain()
        return await self._collect(out)

    async def _job(self, job: dict[str, Any]) -> Outcome:
        out = Outcome()
        job = {**job, "workers": len(self.processes)}
        for index, process in enumerate(self.processes):
            assert process.stdin is not None
            process.stdin.write(json.dumps({**job, "index": index}).encode() + b"\n")
            await process.stdin.drain()
        return await self._collect(out)

    async def _collect(self, out: Outcome) -> Outcome:
        for process in self.processes:
            assert process.stdout is not None
            out.add(json.loads(await process.stdout.readline()))
        return out

    async def stop(self) -> None:
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.close()
            await process.wait()
