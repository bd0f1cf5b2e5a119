"""The orphan sweeper: an object of the attachments bucket that no row references is
removed once it is old enough, never a file a dossier holds, never a young one (an upload
may be between its object and its row)."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from minio import Minio

from intake.bootstrap import build
from intake.config import IntakeSettings
from intake.services.context import ATTACHMENTS_BUCKET
from intake.services.sweeper import sweep_orphans
from services.intake.tests.integration.support import PDF, add_citizen, add_test_procedure
from services.intake.tests.integration.test_dossiers import attach, new_draft
from shared.runtime import Role
from shared.testing import infra
from shared.testing.service import ServiceUnderTest, running_service, service_settings

pytestmark = pytest.mark.integration

LATER = timedelta(hours=7)  # past the default of 6 h


@pytest.fixture
def own_store(tmp_path: Path) -> Iterator[infra.ObjectStoreServer]:
    """A store of this test's own: a sweep of the shared one would remove the files of
    every other test running meanwhile (none has a row in this test's database)."""
    with infra.seaweedfs(tmp_path) as server:
        yield server


@pytest.fixture
async def intake_alone(
    database_url: str,
    rabbit: tuple[str, str],
    amqp_namespace: str,
    own_store: infra.ObjectStoreServer,
) -> AsyncIterator[ServiceUnderTest]:
    settings = service_settings(
        IntakeSettings, database_url=database_url, amqp_url=rabbit[1], namespace=amqp_namespace,
        store=own_store,
    )  # fmt: skip
    async with running_service(build, settings, frozenset({Role.API})) as service:
        yield service


async def test_only_old_objects_without_a_row_are_removed(
    intake_alone: ServiceUnderTest, own_store: infra.ObjectStoreServer
) -> None:
    intake, object_store_server = intake_alone, own_store
    agency = await add_test_procedure(intake)
    citizen = await add_citizen(intake)
    async with intake.client() as client:
        dossier_id = await new_draft(client, citizen, agency)
        attached = await attach(client, citizen, dossier_id)
        assert attached.status_code == 201, attached.text
    store = Minio(object_store_server.endpoint, access_key=object_store_server.access_key,
                  secret_key=object_store_server.secret_key, secure=False)  # fmt: skip
    # What an upload cut between the store and its row leaves behind.
    stray = f"{dossier_id}/{uuid.uuid4()}"
    store.put_object(ATTACHMENTS_BUCKET, stray, io.BytesIO(PDF), len(PDF))
    mine = {o.object_name for o in store.list_objects(ATTACHMENTS_BUCKET, prefix=f"{dossier_id}/")}
    assert len(mine) == 2
    db, objects = intake.runtime.db, intake.runtime.store
    older_than = timedelta(hours=6)

    # Young: left alone, with or without a row.
    assert await sweep_orphans(db, objects, older_than=older_than) == 0
    assert await objects.exists(ATTACHMENTS_BUCKET, stray)

    # Old: the stray object goes, the dossier's file stays.
    removed = await sweep_orphans(db, objects, older_than=older_than, now=datetime.now(UTC) + LATER)
    assert removed == 1
    assert not await objects.exists(ATTACHMENTS_BUCKET, stray)
    left = {o.object_name for o in store.list_objects(ATTACHMENTS_BUCKET, prefix=f"{dossier_id}/")}
    assert left == mine - {stray}
