"""workflow against hostile and broken clients, over real HTTP: an e-result cut short,
abandoned or malformed, a file that is not what it claims, text PostgreSQL cannot store
in any parameter, and more callers than it serves at once. Each refusal is a 4xx (503
when shedding) and changes nothing: no object, no result, no history entry."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import pytest
from minio import Minio
from sqlalchemy import select

from services.workflow.tests.conftest import StartWorkflow
from services.workflow.tests.integration.support import PDF, Desk, arrived, emitted, submitted
from shared.testing.infra import ObjectStoreServer, eventually
from shared.testing.service import ServiceUnderTest
from tests.hostile import multipart as mp
from tests.hostile import walk
from tests.hostile.handled import handled
from tests.hostile.raw import Answer, abandon, exchange, head, refused
from tests.hostile.shedding import assert_shed_at_once
from workflow.adapters.tables import cases, history

pytestmark = pytest.mark.integration

BUCKET = "dossier-results"
RESULT = "/api/v1/dossiers/{code}/result"


async def in_progress(workflow: ServiceUnderTest) -> tuple[Desk, str]:
    """A case received and assigned to the processor, waiting for its result."""
    desk = await Desk(workflow).sign_in()
    dossier = submitted()
    code = dossier.dossier_code or ""
    await arrived(workflow, dossier)
    assert (await desk.act("receiver", code, "receive")).status_code == 200
    assigned = await desk.act("receiver", code, "assign", json={"officer": "bk.xuly"})
    assert assigned.status_code == 200, assigned.text
    return desk, code


async def unchanged(workflow: ServiceUnderTest, server: ObjectStoreServer, code: str) -> None:
    """No e-result stored or recorded: the case still waits for its result."""

    def listed() -> list[str]:
        client = Minio(
            server.endpoint,
            access_key=server.access_key,
            secret_key=server.secret_key,
            secure=False,
        )
        return [
            o.object_name or ""
            for o in client.list_objects(BUCKET, prefix=f"{code}/", recursive=True)
        ]

    assert await asyncio.to_thread(listed) == []
    async with workflow.runtime.db.transaction() as session:
        case = (await session.execute(select(cases).where(cases.c.code == code))).mappings().one()
        actions = (
            await session.scalars(select(history.c.action).where(history.c.case_id == case["id"]))
        ).all()
    assert (case["status"], case["result_summary"], case["result_file"]) == (
        "in_progress",
        None,
        None,
    )
    assert "result" not in actions


def result_head(code: str, desk: Desk, content_type: str, length: int) -> bytes:
    return head(
        "POST", RESULT.format(code=code),
        {**desk.auth["processor"], "Content-Type": content_type, "Content-Length": str(length)},
    )  # fmt: skip


async def send_result(desk: Desk, code: str, content_type: str, body: bytes) -> Answer:
    return await exchange(
        desk.service.url, result_head(code, desk, content_type, len(body)), [body]
    )


PARTS = [mp.text("summary", "Đã đăng ký tạm trú, cấp xác nhận."), mp.file(PDF, "ket-qua.pdf")]
CUTS = {
    # A summary alone is a whole result: cut after it, nothing may be recorded.
    "after the summary": mp.body(PARTS[:1], closed=False),
    **mp.cut_short(PARTS),
}


@pytest.mark.parametrize("cut", CUTS)
async def test_a_result_cut_short_is_refused_and_nothing_is_recorded(
    workflow: ServiceUnderTest, object_store_server: ObjectStoreServer, cut: str
) -> None:
    desk, code = await in_progress(workflow)
    refused(await send_result(desk, code, mp.content_type(), CUTS[cut]), 400)
    await unchanged(workflow, object_store_server, code)


async def test_a_processor_gone_mid_upload_leaves_nothing(
    workflow: ServiceUnderTest, object_store_server: ObjectStoreServer
) -> None:
    desk, code = await in_progress(workflow)
    whole = mp.body(PARTS)
    before: Counter[str] = handled(workflow.runtime, "POST", RESULT)
    await abandon(
        workflow.url, result_head(code, desk, mp.content_type(), len(whole)),
        [whole[: -len(f"--{mp.BOUNDARY}--\r\n")]],
    )  # fmt: skip

    async def ended() -> str | None:
        return next(iter(handled(workflow.runtime, "POST", RESULT) - before), None)

    # No answer to read: the service's own count says how it ended (a refusal, not a fault).
    assert await eventually(ended, what="the abandoned upload handled") == "400"
    await unchanged(workflow, object_store_server, code)


@pytest.mark.parametrize("variant", mp.malformed(PARTS))
async def test_a_malformed_result_is_refused_never_a_fault(
    workflow: ServiceUnderTest, object_store_server: ObjectStoreServer, variant: str
) -> None:
    desk, code = await in_progress(workflow)
    content_type, body = mp.malformed(PARTS)[variant]
    refused(await send_result(desk, code, content_type, body), 400, 413, 415)
    await unchanged(workflow, object_store_server, code)


async def test_a_pdf_that_is_html_behind_its_magic_bytes_is_refused(
    workflow: ServiceUnderTest, object_store_server: ObjectStoreServer
) -> None:
    desk, code = await in_progress(workflow)
    body = mp.body([PARTS[0], mp.file(mp.HTML_AS_PDF, "ket-qua.pdf")])
    refused(await send_result(desk, code, mp.content_type(), body), 415)
    await unchanged(workflow, object_store_server, code)


async def test_nul_or_a_surrogate_in_any_parameter_is_refused_naming_it(
    workflow: ServiceUnderTest,
) -> None:
    desk = await Desk(workflow).sign_in()
    async with workflow.client() as client:
        await walk.assert_refused_everywhere(client, desk.auth["admin"], sent=55, surrogates=30)


@pytest.mark.parametrize("bad", [walk.NUL, walk.SURROGATE], ids=["NUL", "surrogate"])
async def test_nul_or_a_surrogate_in_a_note_or_a_reason_changes_nothing(
    workflow: ServiceUnderTest, bad: str
) -> None:
    desk = await Desk(workflow).sign_in()
    dossier = submitted()
    code = dossier.dossier_code or ""
    await arrived(workflow, dossier)
    for action, body, field in [
        ("receive", {"note": f"Đủ thành phần {bad}"}, "note"),
        ("reject", {"reason": f"Không thuộc địa bàn {bad}"}, "reason"),
        ("request-supplement", {"items": [{"description": bad}]}, "items.0.description"),
    ]:
        answer = await desk.act(
            "receiver",
            code,
            action,
            content=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == 422, (action, answer.text)
        assert field in [e["field"] for e in answer.json()["errors"]], (action, answer.text)
    detail = await desk.get("receiver", f"/api/v1/dossiers/{code}")
    assert detail.json()["status"] == "submitted"
    assert await emitted(workflow, code) == []


async def test_requests_beyond_max_in_flight_are_shed_at_once(
    start_workflow: StartWorkflow,
) -> None:
    workflow = await start_workflow(max_in_flight=4)
    async with workflow.client() as client:
        await assert_shed_at_once(client, 4, hold="/api/v1/auth/token")


async def test_nul_in_a_result_summary_is_refused_naming_it(
    workflow: ServiceUnderTest, object_store_server: ObjectStoreServer
) -> None:
    desk, code = await in_progress(workflow)
    body = mp.body([mp.text("summary", "Đã đăng ký tạm trú \x00"), PARTS[1]])
    answer = await send_result(desk, code, mp.content_type(), body)
    await unchanged(workflow, object_store_server, code)
    refused(answer, 422)
    assert "summary" in answer.fields()
