"""The probe service (shared.testing.probe) the messaging, versioning and observability
tests exercise the common package through."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.testing.probe import Probe, build_probe


@pytest.fixture
async def probe(
    database_url: str, rabbit: tuple[str, str], amqp_namespace: str
) -> AsyncIterator[Probe]:
    probe = await build_probe(database_url, rabbit[1], amqp_namespace)
    yield probe
    await probe.close()
