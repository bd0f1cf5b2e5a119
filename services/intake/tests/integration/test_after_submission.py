"""After submission: workflow's events kept as the citizen sees them (whatever their order
or duplication), supplements with the update code, withdrawal, feedback, the result."""

from __future__ import annotations

import io
import itertools
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from minio import Minio

from services.intake.tests.conftest import StartIntake
from services.intake.tests.integration.support import (
    PDF,
    Citizen,
    add_citizen,
    add_test_procedure,
    draft_body,
    file_part,
    from_address,
    outbox_events,
    until_refused,
)
from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.messaging import Broker
from shared.testing.infra import ObjectStoreServer, eventually
from shared.testing.service import ServiceUnderTest

pytestmark = pytest.mark.integration

# Workflow acts after the submission, which happens during the test (hours ahead: a loaded
# machine may take many minutes between importing this module and running its last test).
T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=6)


async def submitted(
    service: ServiceUnderTest, supplement_days: int | None = None
) -> tuple[Citizen, dict[str, Any]]:
    agency = await add_test_procedure(service, supplement_days=supplement_days)
    citizen = await add_citizen(service)
    async with service.client() as client:
        dossier_id = (
            await client.post("/api/v1/dossiers", json=draft_body(agency), headers=citizen.auth)
        ).json()["id"]
        await client.post(
            f"/api/v1/dossiers/{dossier_id}/attachments", data={"document_code": "TP1"},
            files=[file_part(PDF)], headers=citizen.auth,
        )  # fmt: skip
        answer = await client.post(
            f"/api/v1/dossiers/{dossier_id}/submit", json={"commitment": True}, headers=citizen.auth
        )
    assert answer.status_code == 200, answer.text
    return citizen, answer.json()


def facts(status: str) -> dict[str, Any]:
    return {
        "procedure_code": "9.000001", "procedure_name": "Đăng ký tạm trú", "field": "residence",
        "agency_code": "G01", "agency_name": "Công an", "status": ev.DossierStatus(status),
        "actor": ev.Actor(kind="officer", id="o1", name="Cán bộ một cửa"),
    }  # fmt: skip


def history(code: str, result_file: ev.FileRef | None = None) -> list[Envelope]:
    """A dossier's workflow events, in the order workflow made them."""
    due = T0 + timedelta(days=5)
    steps: list[ev.EventData] = [
        ev.DossierReceived(**facts("received"), received_at=T0, due_at=due, channel="online",
                           counted_from=T0, rule_set="118/2025"),
        ev.DossierSupplementRequested(**facts("supplement_requested"), received_at=T0, due_at=due,
                                      items=[ev.SupplementItem(document_code="TP1", description="Tờ khai thiếu chữ ký")],
                                      requested_at=T0 + timedelta(hours=2)),
        ev.DossierAssigned(**facts("in_progress"), received_at=T0, due_at=due + timedelta(days=1),
                           assignee=ev.Actor(kind="officer", id="o2")),
        ev.DossierSubmittedForApproval(**facts("pending_approval"), received_at=T0, due_at=due + timedelta(days=1)),
        # Approved, the fee to be paid at the desk before the result is handed over.
        ev.DossierAwaitingFee(**facts("awaiting_fee"), received_at=T0, due_at=due + timedelta(days=1),
                              amount_vnd=15000, awaiting_since=T0 + timedelta(days=2)),
        ev.DossierResultReady(**facts("result_ready"), received_at=T0, due_at=due + timedelta(days=1),
                              resolved_at=T0 + timedelta(days=3), judgement=ev.Judgement.EARLY,
                              result_summary="Đã đăng ký tạm trú", result_file=result_file),
        ev.DossierReturned(**facts("returned"), received_at=T0, due_at=due + timedelta(days=1),
                           returned_at=T0 + timedelta(days=4), originals_verified=True),
    ]  # fmt: skip
    return [
        Envelope.wrap(data, source="workflow", dossier_code=code, sequence=i + 1,
                      occurred_at=T0 + timedelta(hours=i))
        for i, data in enumerate(steps)
    ]  # fmt: skip


async def publish(service: ServiceUnderTest, envelopes: list[Envelope]) -> None:
    settings = service.runtime.settings
    broker = Broker(settings.amqp_url, service.runtime.topology, name="test-workflow")
    await broker.connect()
    try:
        for envelope in envelopes:
            await broker.publish_event(envelope.model_dump_json().encode(), envelope.type)
    finally:
        await broker.close()


async def view(service: ServiceUnderTest, citizen: Citizen, code: str) -> dict[str, Any]:
    async with service.client() as client:
        response = await client.get(f"/api/v1/dossiers/{code}", headers=citizen.auth)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def settle(
    service: ServiceUnderTest, citizen: Citizen, code: str, entries: int
) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        body = await view(service, citizen, code)
        return body if len(body["timeline"]) == entries else None

    return await eventually(done, timeout=30, what=f"{entries} timeline entries")


async def test_status_and_timeline_converge_whatever_the_order_and_duplicates(
    intake: ServiceUnderTest,
) -> None:
    citizen, first = await submitted(intake)
    citizen_b, second = citizen, None
    agency_code = first["code"].split("-")[0]
    async with intake.client() as client:
        # A second dossier of the same citizen receives the same history, shuffled and doubled.
        dossier_id = (
            await client.post(
                "/api/v1/dossiers", json=draft_body(agency_code), headers=citizen.auth
            )
        ).json()["id"]
        await client.post(f"/api/v1/dossiers/{dossier_id}/attachments", data={"document_code": "TP1"},
                          files=[file_part(PDF)], headers=citizen.auth)  # fmt: skip
        second = (
            await client.post(
                f"/api/v1/dossiers/{dossier_id}/submit",
                json={"commitment": True},
                headers=citizen.auth,
            )
        ).json()

    in_order = history(first["code"])
    scrambled = history(second["code"])
    scrambled = scrambled + random.Random(7).sample(scrambled, 3)
    random.Random(11).shuffle(scrambled)
    await publish(intake, in_order)
    await publish(intake, scrambled)

    a = await settle(intake, citizen, first["code"], 1 + len(in_order))
    b = await settle(intake, citizen_b, second["code"], 1 + len(in_order))

    def state(body: dict[str, Any]) -> dict[str, Any]:
        keys = ("status", "received_at", "due_at", "resolved_at", "supplement_request")
        return {k: body[k] for k in keys} | {
            "timeline": [(t["status"], t["note"]) for t in body["timeline"]]
        }

    assert state(a) == state(b)
    assert a["status"] == "returned"
    assert a["received_at"] == T0.isoformat().replace("+00:00", "+00:00")
    assert a["resolved_at"] is not None
    assert [t["status"] for t in a["timeline"]] == [
        "submitted", "received", "supplement_requested", "in_progress", "pending_approval", "awaiting_fee",
        "result_ready", "returned",
    ]  # fmt: skip


async def test_the_supplement_deadline_is_shown_and_a_stop_ends_the_dossier(
    intake: ServiceUnderTest,
) -> None:
    citizen, answer = await submitted(intake, supplement_days=5)
    code = answer["code"]
    # The procedure's supplement days travel with the submission to workflow.
    (event,) = [
        e for e in await outbox_events(intake, "dossier.submitted") if e.dossier_code == code
    ]
    assert event.payload_as(ev.DossierSubmitted).supplement_days == 5
    deadline = T0 + timedelta(days=7)
    steps: list[ev.EventData] = [
        ev.DossierReceived(**facts("received"), received_at=T0, due_at=T0 + timedelta(days=5),
                           channel="online", counted_from=T0, rule_set="nd-118-2025"),
        ev.DossierSupplementRequested(**facts("supplement_requested"), received_at=T0,
                                      items=[ev.SupplementItem(description="Thiếu ảnh")],
                                      requested_at=T0, supplement_due_at=deadline),
        ev.DossierStopped(**facts("stopped"), received_at=T0,
                          reason="Quá thời hạn bổ sung, hoàn thiện hồ sơ mà công dân chưa bổ sung",
                          stopped_at=deadline + timedelta(hours=1)),
    ]  # fmt: skip
    envelopes = [
        Envelope.wrap(data, source="workflow", dossier_code=code, sequence=i + 1,
                      occurred_at=T0 + timedelta(hours=i))
        for i, data in enumerate(steps)
    ]  # fmt: skip
    await publish(intake, envelopes[:2])
    body = await settle(intake, citizen, code, 3)
    assert body["status"] == "supplement_requested"
    assert body["supplement_due_at"] == deadline.isoformat()
    async with httpx.AsyncClient(base_url=intake.url) as anonymous:
        tracked = (await anonymous.get(f"/api/v1/tracking/{code}")).json()
    assert tracked["supplement_due_at"] == deadline.isoformat()

    await publish(intake, envelopes[2:])
    body = await settle(intake, citizen, code, 4)
    assert body["status"] == "stopped"
    assert body["supplement_due_at"] is None
    assert body["timeline"][-1]["status"] == "stopped"
    assert "Quá thời hạn bổ sung" in body["timeline"][-1]["note"]
    async with httpx.AsyncClient(base_url=intake.url) as anonymous:
        tracked = (await anonymous.get(f"/api/v1/tracking/{code}")).json()
        late = await anonymous.post(
            f"/api/v1/dossiers/{code}/supplement",
            headers={"X-Update-Code": answer["update_code"]},
            data={"document_code": "TP1"}, files=[file_part(PDF)],
        )  # fmt: skip
    assert tracked["status"] == "stopped"
    assert tracked["supplement_due_at"] is None
    # Stopped is final for the citizen too: no supplement, no withdrawal.
    assert late.status_code == 409, late.text
    async with intake.client() as client:
        withdraw = await client.post(
            f"/api/v1/dossiers/{code}/withdraw", json={"reason": "Không cần nữa"},
            headers=citizen.auth,
        )  # fmt: skip
    assert withdraw.status_code == 409, withdraw.text


async def test_supplement_with_the_update_code_sends_the_dossier_back(
    intake: ServiceUnderTest,
) -> None:
    citizen, answer = await submitted(intake)
    code = answer["code"]
    await publish(intake, history(code)[:2])  # received, then supplement requested
    await eventually(
        lambda: _status_is(intake, citizen, code, "supplement_requested"),
        what="supplement requested",
    )
    url = f"/api/v1/dossiers/{code}/supplement"
    parts: dict[str, Any] = {
        "data": {"document_code": "TP1", "note": "Đã ký lại tờ khai"},
        "files": [file_part(PDF, "to-khai-ky.pdf")],
    }
    async with httpx.AsyncClient(base_url=intake.url) as anonymous:
        wrong = await anonymous.post(url, headers={"X-Update-Code": "AAAAAAAA"}, **parts)
        none = await anonymous.post(url, **parts)
        right = await anonymous.post(
            url, headers={"X-Update-Code": answer["update_code"].lower()}, **parts
        )
        twice = await anonymous.post(url, headers={"X-Update-Code": answer["update_code"]}, **parts)
    assert (wrong.status_code, none.status_code) == (404, 404)
    assert right.status_code == 200, right.text
    assert right.json()["status"] == "submitted"
    assert twice.status_code == 409
    (event,) = await outbox_events(intake, "dossier.supplemented")
    data = event.payload_as(ev.DossierSupplemented)
    assert [f.filename for f in data.attachments] == ["to-khai-ky.pdf"]
    assert data.note == "Đã ký lại tờ khai"
    assert event.sequence == 2
    body = await view(intake, citizen, code)
    assert [a["round"] for a in body["attachments"]] == [0, 1]


async def test_update_code_guesses_are_limited_for_signed_in_callers_too(
    start_intake: StartIntake,
) -> None:
    service = await start_intake(
        trusted_proxies=["127.0.0.1"],
        limit_update_code_per_dossier_hour=2,
        limit_update_code_per_account_hour=4,
        limit_update_code_per_ip_hour=3,
    )
    first, second = await add_citizen(service), await add_citizen(service)
    n = itertools.count()

    async def guess(code: str, address: str, auth: dict[str, str]) -> httpx.Response:
        return await client.post(
            f"/api/v1/dossiers/{code}/supplement",
            headers={"X-Update-Code": f"A{next(n):07d}", **from_address(address), **auth},
            data={"document_code": "TP1"},
            files=[file_part(PDF)],
        )

    async with service.client() as client:
        # One dossier, signed in, a new address each time.
        per_dossier = await until_refused(
            lambda: guess("G01-000001", f"203.0.113.{next(n)}", first.auth), 2
        )
        # One account, a new dossier and address each time.
        per_account = await until_refused(
            lambda: guess(f"G01-{next(n):06d}", f"192.0.2.{next(n)}", second.auth), 4
        )
        # One address, a new dossier each time, nobody signed in.
        per_address = await until_refused(
            lambda: guess(f"G01-{next(n):06d}", "198.51.100.9", {}), 3
        )
    for answers, limit in ((per_dossier, 2), (per_account, 4), (per_address, 3)):
        assert answers[-1].status_code == 429, [a.status_code for a in answers]
        assert len(answers) > limit
        assert {a.status_code for a in answers[:-1]} == {404}


async def _status_is(service: ServiceUnderTest, citizen: Citizen, code: str, status: str) -> bool:
    return (await view(service, citizen, code))["status"] == status


async def test_withdrawal_before_a_result_and_never_after(intake: ServiceUnderTest) -> None:
    citizen, answer = await submitted(intake)
    async with intake.client() as client:
        url = f"/api/v1/dossiers/{answer['code']}/withdraw"
        withdrawn = await client.post(url, json={"reason": "Đã chuyển nơi ở"}, headers=citizen.auth)
        again = await client.post(url, json={"reason": "Đã chuyển nơi ở"}, headers=citizen.auth)
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"
    assert again.status_code == 409
    assert again.json()["current_status"] == "withdrawn"
    (event,) = await outbox_events(intake, "dossier.withdrawn")
    assert event.payload_as(ev.DossierWithdrawn).reason == "Đã chuyển nơi ở"
    # A late workflow event does not revive a withdrawn dossier.
    await publish(intake, history(answer["code"])[:1])
    body = await settle(intake, citizen, answer["code"], 3)
    assert body["status"] == "withdrawn"


async def test_feedback_once_resolved_and_the_electronic_result(
    intake: ServiceUnderTest, object_store_server: ObjectStoreServer
) -> None:
    citizen, answer = await submitted(intake)
    code = answer["code"]
    s = object_store_server
    store = Minio(s.endpoint, access_key=s.access_key, secret_key=s.secret_key, secure=False)
    if not store.bucket_exists("dossier-results"):
        store.make_bucket("dossier-results")
    key = f"{uuid.uuid4()}/ket-qua.pdf"
    store.put_object(
        "dossier-results", key, io.BytesIO(PDF), len(PDF), content_type="application/pdf"
    )
    result_file = ev.FileRef(
        bucket="dossier-results",
        key=key,
        size=len(PDF),
        content_type="application/pdf",
        sha256="0" * 64,
    )

    async with intake.client() as client:
        early = await client.post(
            f"/api/v1/dossiers/{code}/feedback", json={"rating": 5}, headers=citizen.auth
        )
        no_result = await client.get(f"/api/v1/dossiers/{code}/result", headers=citizen.auth)
    assert early.status_code == 409
    assert no_result.status_code == 404

    await publish(intake, history(code, result_file)[:6])
    await eventually(lambda: _status_is(intake, citizen, code, "result_ready"), what="result ready")
    async with intake.client() as client:
        rated = await client.post(
            f"/api/v1/dossiers/{code}/feedback",
            json={"rating": 4, "comment": "Nhanh"},
            headers=citizen.auth,
        )
        twice = await client.post(
            f"/api/v1/dossiers/{code}/feedback", json={"rating": 1}, headers=citizen.auth
        )
        out_of_range = await client.post(
            f"/api/v1/dossiers/{code}/feedback", json={"rating": 6}, headers=citizen.auth
        )
        link = await client.get(f"/api/v1/dossiers/{code}/result", headers=citizen.auth)
        downloaded = await client.get(link.headers["location"])
    assert rated.status_code == 201
    assert twice.status_code == 409
    assert out_of_range.status_code == 422
    (event,) = await outbox_events(intake, "feedback.submitted")
    assert event.payload_as(ev.FeedbackSubmitted).rating == 4
    assert event.dossier_code == code
    assert link.status_code == 307
    assert downloaded.content == PDF
