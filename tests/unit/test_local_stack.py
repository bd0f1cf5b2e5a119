"""`make up`'s processes (deploy/local/stack.py): one per role, the API processes of a
service sharing its port and nothing else sharing one."""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path
from unittest import mock

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "deploy" / "local"))

import stack


@pytest.fixture(autouse=True)
def _development_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    for service in stack.SERVICES:
        for name in ("PORT", "METRICS_PORT"):
            monkeypatch.delenv(f"{service.env_prefix}{name}", raising=False)


def test_every_service_runs_each_role_and_its_api_processes_share_the_port() -> None:
    for service in stack.SERVICES:
        roles = Counter(p.role for p in service.processes)
        assert roles == {"api": stack.API_PROCESSES, "consume": 1, "relay": 1}
        for process in service.processes:
            env = process.env()
            sharing = env.get(f"{service.env_prefix}REUSE_PORT") == "true"
            assert sharing == (process.role == "api")
            assert process.argv[-2:] == [service.name, process.role]


def test_no_two_processes_listen_on_one_port_unless_they_are_one_services_api() -> None:
    holders: dict[int, set[tuple[str, str]]] = {}
    for process in stack.service_processes():
        holders.setdefault(process.port, set()).add((process.service.name, process.role))
    for port, who in holders.items():
        assert len(who) == 1, f"port {port} is wanted by {sorted(who)}"
    taken = set(stack.STORE_PORTS.values()) | {
        stack.MAIL_PORT,
        stack.NATIONAL_PORT,
        stack.OIDC_PORT,
    }
    assert not taken & set(holders)


def test_a_process_listens_where_its_readiness_is_asked() -> None:
    """The process's own settings, from the environment it is started with, put its server
    on the port `make up` polls."""
    for process in stack.service_processes():
        with mock.patch.dict(os.environ, process.env(), clear=True):
            settings = process.service.settings()
        listening = settings.port if process.role == "api" else settings.metrics_port
        assert listening == process.port, process.name
        assert settings.reuse_port == (process.role == "api")
