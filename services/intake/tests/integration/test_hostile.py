"""intake against hostile and broken clients, over real HTTP: bodies cut short or
abandoned, malformed multipart, text PostgreSQL cannot store, forms nested deep, files
that are not what they claim, more callers than it serves at once, and bodies of 55 MB.
Each refusal is a 4xx (or 503 when shedding) and leaves nothing behind: no row, no object
in the store, the dossier's status as it was."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from minio import Minio
from sqlalchemy import func, select

from intake.adapters.tables import attachments, dossiers
from intake.bootstrap import build
from intake.config import IntakeSettings
from services.intake.tests.conftest import StartIntake
from services.intake.tests.integration.support import (
    PDF,
    Citizen,
    add_citizen,
    add_test_procedure,
    draft_body,
    outbox_events,
)
from services.intake.tests.integration.test_after_submission import history, publish, submitted
from shared.testing.fixtures import Backing
from shared.testing.infra import ObjectStoreServer, eventually
from shared.testing.processes import ServiceProcess, process_under_test
from shared.testing.service import ServiceUnderTest
from tests.hostile import multipart as mp
from tests.hostile import walk
from tests.hostile.handled import handled
from tests.hostile.memory import MIB, peak_rss
from tests.hostile.raw import Answer, abandon, chunked, exchange, head, refused, repeated
from tests.hostile.shedding import assert_shed_at_once

pytestmark = pytest.mark.integration

BUCKET = "dossier-attachments"
ATTACHMENTS = "/api/v1/dossiers/{dossier_id}/attachments"
SUPPLEMENT = "/api/v1/dossiers/{code}/supplement"


def store_client(server: ObjectStoreServer) -> Minio:
    return Minio(
        server.endpoint, access_key=server.access_key, secret_key=server.secret_key, secure=False
    )


async def objects(server: ObjectStoreServer, dossier_id: uuid.UUID | str) -> list[str]:
    """The keys stored for a dossier."""

    def listed() -> list[str]:
        found = store_client(server).list_objects(BUCKET, prefix=f"{dossier_id}/", recursive=True)
        return [o.object_name for o in found if o.object_name]

    return await asyncio.to_thread(listed)


async def rows(service: ServiceUnderTest, dossier_id: uuid.UUID | str) -> int:
    async with service.runtime.db.transaction() as session:
        count = await session.scalar(
            select(func.count()).where(attachments.c.dossier_id == uuid.UUID(str(dossier_id)))
        )
    return int(count or 0)


async def status_of(service: ServiceUnderTest, dossier_id: uuid.UUID | str) -> str:
    async with service.runtime.db.transaction() as session:
        return str(
            await session.scalar(
                select(dossiers.c.status).where(dossiers.c.id == uuid.UUID(str(dossier_id)))
            )
        )


async def draft(service: ServiceUnderTest, agency: str | None = None) -> tuple[Citizen, str]:
    """A new citizen's draft (the test procedure added unless `agency` is given)."""
    agency = agency or await add_test_procedure(service)
    citizen = await add_citizen(service)
    async with service.client() as client:
        created = await client.post(
            "/api/v1/dossiers", json=draft_body(agency), headers=citizen.auth
        )
    assert created.status_code == 201, created.text
    return citizen, created.json()["id"]


def upload_head(target: str, content_type: str, length: int, **headers: str) -> bytes:
    return head(
        "POST", target, {"Content-Type": content_type, "Content-Length": str(length), **headers}
    )


async def upload(
    service: ServiceUnderTest, target: str, content_type: str, body: bytes, **headers: str
) -> Answer:
    return await exchange(
        service.url, upload_head(target, content_type, len(body), **headers), [body]
    )


FILE_PARTS = [mp.text("document_code", "TP1"), mp.file(PDF)]
# The whole file, its part's end, and no closing boundary: the file looks complete.
CUTS = mp.cut_short(FILE_PARTS)


@pytest.mark.parametrize("cut", CUTS)
async def test_an_attachment_cut_short_is_refused_and_nothing_is_stored(
    intake: ServiceUnderTest, object_store_server: ObjectStoreServer, cut: str
) -> None:
    citizen, dossier_id = await draft(intake)
    target = ATTACHMENTS.format(dossier_id=dossier_id)
    answer = await upload(intake, target, mp.content_type(), CUTS[cut], **citizen.auth)
    refused(answer, 400)
    assert (await rows(intake, dossier_id), await objects(object_store_server, dossier_id)) == (
        0,
        [],
    )
    assert await status_of(intake, dossier_id) == "draft"


async def supplement_requested(service: ServiceUnderTest) -> tuple[Citizen, dict[str, Any]]:
    """A submitted dossier (one file) the officer has asked to supplement."""
    citizen, answer = await submitted(service)
    await publish(service, history(answer["code"])[:2])

    async def asked() -> bool:
        async with service.client() as client:
            view = await client.get(f"/api/v1/dossiers/{answer['code']}", headers=citizen.auth)
        return view.json()["status"] == "supplement_requested"

    await eventually(asked, what="supplement requested")
    return citizen, answer


SUPPLEMENT_PARTS = [mp.text("note", "Đã ký lại tờ khai"), *FILE_PARTS]
SUPPLEMENT_CUTS = {
    # A note alone is a valid supplement: cut after it, the dossier must not go back.
    "after the note": mp.body(SUPPLEMENT_PARTS[:1], closed=False),
    "after the file": mp.body(SUPPLEMENT_PARTS, closed=False),
    "inside the file": mp.body(SUPPLEMENT_PARTS, closed=False)[: -len(PDF) // 2],
}


async def unchanged_after_supplement(
    service: ServiceUnderTest,
    server: ObjectStoreServer,
    answer: dict[str, Any],
    objects_before: list[str],
) -> None:
    dossier_id = answer["id"]
    assert await status_of(service, dossier_id) == "supplement_requested"
    assert await rows(service, dossier_id) == 1  # the submission's file only
    assert await objects(server, dossier_id) == objects_before
    assert await outbox_events(service, "dossier.supplemented") == []


@pytest.mark.parametrize("cut", SUPPLEMENT_CUTS)
async def test_a_supplement_cut_short_is_refused_and_the_dossier_stays_with_the_citizen(
    intake: ServiceUnderTest, object_store_server: ObjectStoreServer, cut: str
) -> None:
    _, answer = await supplement_requested(intake)
    before = await objects(object_store_server, answer["id"])
    target = SUPPLEMENT.format(code=answer["code"])
    sent = await upload(
        intake,
        target,
        mp.content_type(),
        SUPPLEMENT_CUTS[cut],
        **{"X-Update-Code": answer["update_code"]},
    )
    refused(sent, 400)
    await unchanged_after_supplement(intake, object_store_server, answer, before)


async def test_a_client_gone_mid_upload_leaves_nothing(
    intake: ServiceUnderTest, object_store_server: ObjectStoreServer
) -> None:
    _, answer = await supplement_requested(intake)
    citizen, dossier_id = await draft(intake, answer["code"].split("-")[0])
    before = await objects(object_store_server, answer["id"])
    whole = mp.body(FILE_PARTS)
    uploads = [
        (ATTACHMENTS, ATTACHMENTS.format(dossier_id=dossier_id), citizen.auth),
        (
            SUPPLEMENT,
            SUPPLEMENT.format(code=answer["code"]),
            {"X-Update-Code": answer["update_code"]},
        ),
    ]
    for route, target, auth in uploads:
        before_gone = handled(intake.runtime, "POST", route)
        # Everything but the closing boundary, then the connection is reset.
        cut = whole[: -len(f"--{mp.BOUNDARY}--\r\n")]
        await abandon(intake.url, upload_head(target, mp.content_type(), len(whole), **auth), [cut])
        # No answer to read: the service's own count says how it ended (a refusal, not a fault).
        assert await after_one_more(intake, route, before_gone) == "400"
    assert (await rows(intake, dossier_id), await objects(object_store_server, dossier_id)) == (
        0,
        [],
    )
    assert await status_of(intake, dossier_id) == "draft"
    await unchanged_after_supplement(intake, object_store_server, answer, before)


async def after_one_more(service: ServiceUnderTest, route: str, before: Counter[str]) -> str:
    """The status of the one request of `route` the service finishes after `before`."""

    async def more() -> str | None:
        new = handled(service.runtime, "POST", route) - before
        return next(iter(new), None)

    return await eventually(more, what=f"{route} handled after the client left")


@pytest.mark.parametrize("variant", mp.malformed(FILE_PARTS))
async def test_malformed_multipart_is_refused_never_a_fault(
    intake: ServiceUnderTest, object_store_server: ObjectStoreServer, variant: str
) -> None:
    _, answer = await supplement_requested(intake)
    citizen, dossier_id = await draft(intake, answer["code"].split("-")[0])
    before = await objects(object_store_server, answer["id"])
    content_type, body = mp.malformed(FILE_PARTS)[variant]
    attached = await upload(
        intake, ATTACHMENTS.format(dossier_id=dossier_id), content_type, body, **citizen.auth
    )
    supplemented = await upload(
        intake, SUPPLEMENT.format(code=answer["code"]), content_type, body,
        **{"X-Update-Code": answer["update_code"]},
    )  # fmt: skip
    refused(attached, 400, 413, 415)
    refused(supplemented, 400, 413, 415)
    assert (await rows(intake, dossier_id), await objects(object_store_server, dossier_id)) == (
        0,
        [],
    )
    await unchanged_after_supplement(intake, object_store_server, answer, before)


async def test_a_pdf_that_is_html_behind_its_magic_bytes_is_refused(
    intake: ServiceUnderTest, object_store_server: ObjectStoreServer
) -> None:
    citizen, dossier_id = await draft(intake)
    body = mp.body([mp.text("document_code", "TP1"), mp.file(mp.HTML_AS_PDF)])
    answer = await upload(
        intake, ATTACHMENTS.format(dossier_id=dossier_id), mp.content_type(), body, **citizen.auth
    )
    refused(answer, 415)
    assert (await rows(intake, dossier_id), await objects(object_store_server, dossier_id)) == (
        0,
        [],
    )


async def test_nul_or_a_surrogate_in_any_parameter_is_refused_naming_it(
    intake: ServiceUnderTest,
) -> None:
    citizen = await add_citizen(intake)
    async with intake.client() as client:
        await walk.assert_refused_everywhere(client, citizen.auth, sent=60, surrogates=25)


@pytest.mark.parametrize("bad", [walk.NUL, walk.SURROGATE], ids=["NUL", "surrogate"])
async def test_nul_or_a_surrogate_in_a_draft_a_reason_or_a_comment_is_refused_naming_it(
    intake: ServiceUnderTest, bad: str
) -> None:
    citizen, answer = await submitted(intake)
    agency = answer["code"].split("-")[0]
    code = answer["code"]
    form = {"ho_ten": f"Nguyễn {bad}", "dia_chi": "Tổ 5"}
    requests = [
        ("/api/v1/dossiers", draft_body(agency, form=form), "form.ho_ten"),
        (
            "/api/v1/dossiers",
            draft_body(agency, form={"ho_ten": "A", "dia_chi": "B", bad: "C"}),
            "form",
        ),
        (f"/api/v1/dossiers/{code}/withdraw", {"reason": f"Không cần {bad}"}, "reason"),
        (f"/api/v1/dossiers/{code}/feedback", {"rating": 5, "comment": bad}, "comment"),
    ]
    async with intake.client() as client:
        for path, body, field in requests:
            sent = await client.post(
                path,
                content=json.dumps(body),
                headers={**citizen.auth, "Content-Type": "application/json"},
            )
            assert sent.status_code == 422, (path, sent.text)
            assert field in [e["field"] for e in sent.json()["errors"]], (path, sent.text)
        listed = await client.get("/api/v1/dossiers", headers=citizen.auth)
    assert [d["status"] for d in listed.json()["items"]] == ["submitted"]


async def test_a_form_nested_400_levels_deep_is_refused(intake: ServiceUnderTest) -> None:
    agency = await add_test_procedure(intake)
    citizen = await add_citizen(intake)
    nested: dict[str, Any] = {"ho_ten": "Nguyễn Thị Bích"}
    for _ in range(400):
        nested = {"ly_do": nested}
    body = draft_body(agency, form={"ho_ten": "A", "dia_chi": "B", "ly_do": nested})
    async with intake.client() as client:
        answer = await client.post(
            "/api/v1/dossiers", content=json.dumps(body),
            headers={**citizen.auth, "Content-Type": "application/json"},
        )  # fmt: skip
        listed = await client.get("/api/v1/dossiers", headers=citizen.auth)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert listed.json()["items"] == []


async def test_requests_beyond_max_in_flight_are_shed_at_once(start_intake: StartIntake) -> None:
    intake = await start_intake(max_in_flight=4)
    async with intake.client() as client:
        await assert_shed_at_once(
            client, 4, hold="/api/v1/accounts/verify", probe="/api/v1/procedures"
        )


# --- 55 MB bodies, against intake as its own process --------------------------------------

BIG = 55 * MIB


@pytest.fixture
async def intake_process(
    backing: Backing, tmp_path: Path
) -> AsyncIterator[tuple[ServiceProcess, ServiceUnderTest]]:
    """intake as `python -m intake all`, so its memory is its own; a runtime beside it
    only for test data."""
    async with process_under_test(
        "intake", build, IntakeSettings, backing, tmp_path / "intake.log"
    ) as running:
        yield running


async def test_a_55_mb_json_body_is_refused_at_once_and_memory_does_not_grow(
    intake_process: tuple[ServiceProcess, ServiceUnderTest],
) -> None:
    process, intake = intake_process
    citizen = await add_citizen(intake)
    pid = process.process.pid
    targets = {
        "anonymous": ("/api/v1/accounts/verify", {}),
        "citizen": ("/api/v1/dossiers", citizen.auth),
    }
    async with httpx.AsyncClient(base_url=intake.url) as client:
        warm = await client.post("/api/v1/accounts/verify", json={"phone": "0912345678"})
    assert warm.status_code < 500
    baseline = peak_rss(pid)
    results = []
    for who, (target, auth) in targets.items():
        declared = head(
            "POST", target, {"Content-Type": "application/json", "Content-Length": str(BIG), **auth}
        )
        # Declared: the answer must come on the headers alone, before any of the body.
        at_once = await exchange(intake.url, declared, repeated(BIG), pause_before_body=5)
        streamed = head(
            "POST",
            target,
            {"Content-Type": "application/json", "Transfer-Encoding": "chunked", **auth},
        )
        # Not declared: refused once past the limit, long before the 55 MB are sent.
        cut = await exchange(intake.url, streamed, chunked(repeated(BIG, prefix=b'{"phone": "')))
        results.append((who, at_once, cut))
    grown = (peak_rss(pid) - baseline) / MIB
    for who, at_once, cut in results:
        refused(at_once, 413)
        assert at_once.sent == 0, (who, at_once.sent)
        refused(cut, 413)
        assert cut.sent < 16 * MIB, (who, cut.sent / MIB)
    assert grown < 20, f"intake's peak RSS grew by {grown:.0f} MiB"


async def test_a_multipart_body_sent_to_a_json_route_is_refused_without_being_read(
    intake_process: tuple[ServiceProcess, ServiceUnderTest],
) -> None:
    process, intake = intake_process
    citizen = await add_citizen(intake)
    baseline = peak_rss(process.process.pid)
    answers = []
    for target, auth in [("/api/v1/accounts/verify", {}), ("/api/v1/dossiers", citizen.auth)]:
        declared = head(
            "POST", target,
            {"Content-Type": mp.content_type(), "Content-Length": str(BIG), **auth},
        )  # fmt: skip
        answers.append(await exchange(intake.url, declared, repeated(BIG), pause_before_body=5))
    grown = (peak_rss(process.process.pid) - baseline) / MIB
    for answer in answers:
        refused(answer, 413, 415)
        assert answer.sent == 0, answer.sent / MIB
    assert grown < 20, f"intake's peak RSS grew by {grown:.0f} MiB"


async def test_nul_in_a_supplement_note_is_refused_naming_it(
    intake: ServiceUnderTest, object_store_server: ObjectStoreServer
) -> None:
    _, answer = await supplement_requested(intake)
    before = await objects(object_store_server, answer["id"])
    body = mp.body([mp.text("note", "Đã ký lại \x00"), *FILE_PARTS])
    sent = await upload(
        intake, SUPPLEMENT.format(code=answer["code"]), mp.content_type(), body,
        **{"X-Update-Code": answer["update_code"]},
    )  # fmt: skip
    await unchanged_after_supplement(intake, object_store_server, answer, before)
    refused(sent, 422)
    assert "note" in sent.fields()


async def test_a_number_too_long_to_read_is_answered_as_unreadable_json(
    intake: ServiceUnderTest,
) -> None:
    async with intake.client() as client:
        headers = {"Content-Type": "application/json"}
        long_number = await client.post(
            "/api/v1/accounts/verify", content=b'{"phone": ' + b"1" * 5000 + b"}", headers=headers
        )
        broken = await client.post(
            "/api/v1/accounts/verify", content=b'{"phone": }', headers=headers
        )
    assert broken.status_code == 422
    assert (long_number.status_code, long_number.json()["detail"]) == (
        broken.status_code,
        broken.json()["detail"],
    )
