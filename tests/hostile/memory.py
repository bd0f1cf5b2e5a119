"""A process's memory, as the kernel counts it (`/proc/<pid>/status`)."""

from __future__ import annotations

from pathlib import Path

MIB = 1024 * 1024


def status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise KeyError(key)


def rss(pid: int) -> int:
    """Resident set size now, in bytes."""
    return status_kib(pid, "VmRSS") * 1024


def peak_rss(pid: int) -> int:
    """The highest resident set size the process has had, in bytes (VmHWM): a peak
    between two samples is not missed."""
    return status_kib(pid, "VmHWM") * 1024
