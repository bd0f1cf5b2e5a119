"""schemathesis against each service's own OpenAPI document, on the real processes: no
request it generates, valid or not, is answered 5xx, and every answer is one the document
describes (status, media type, headers, schema), with every check of `--checks all`.

What it runs with (examples per operation, the few exclusions and why) is in
schemathesis.toml beside this file; its output, seed included, is printed."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shared.testing.processes import ServiceProcess
from tests.contract.conftest import SERVICES

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.mark.parametrize("name", SERVICES)
async def test_no_server_error_and_every_answer_as_documented(
    services: dict[str, ServiceProcess], contract_env: dict[str, str], name: str
) -> None:
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(CONFIG),
        "run", f"{services[name].url}/openapi.json", "--checks", "all", "--mode", "all",
        # A fixed seed keeps CI's run reproducible; CONTRACT_SEED explores others.
        "--seed", os.environ.get("CONTRACT_SEED", "20261201"),
    ]  # fmt: skip
    started = time.monotonic()
    run = await asyncio.to_thread(
        subprocess.run,
        command,
        env={**os.environ, **contract_env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = (
        f"{run.stdout}\n{run.stderr}\n{name}: schemathesis took {time.monotonic() - started:.0f} s"
    )
    print(output)
    assert run.returncode == 0, output
