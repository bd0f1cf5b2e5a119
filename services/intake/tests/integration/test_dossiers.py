"""Dossiers from draft to submission and after, against the real PostgreSQL, RabbitMQ and
object store, through a real HTTP server."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from minio import Minio
from sqlalchemy import func, select

from intake.adapters.tables import attachments, dossiers
from services.intake.tests.conftest import StartIntake
from services.intake.tests.integration.support import (
    PDF,
    PNG,
    PROCEDURE,
    Citizen,
    add_citizen,
    add_test_procedure,
    draft_body,
    file_part,
    outbox_events,
)
from shared.contracts import events
from shared.testing.infra import ObjectStoreServer
from shared.testing.service import ServiceUnderTest

pytestmark = pytest.mark.integration

CODE = re.compile(r"^G01\.\d{3}\.\d{3}\.\d{3}-\d{6}-(\d{4})$")


@pytest.fixture
async def world(intake: ServiceUnderTest) -> tuple[ServiceUnderTest, Citizen, str]:
    agency = await add_test_procedure(intake)
    return intake, await add_citizen(intake), agency


async def new_draft(client: httpx.AsyncClient, citizen: Citizen, agency: str) -> str:
    created = await client.post("/api/v1/dossiers", json=draft_body(agency), headers=citizen.auth)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def attach(
    client: httpx.AsyncClient, citizen: Citizen, dossier_id: str, content: bytes = PDF, **part: str
) -> httpx.Response:
    return await client.post(
        f"/api/v1/dossiers/{dossier_id}/attachments",
        data={"document_code": part.pop("document_code", "TP1")},
        files=[file_part(content, **part)],
        headers=citizen.auth,
    )


async def test_a_citizen_drafts_attaches_and_submits(
    world: tuple[ServiceUnderTest, Citizen, str],
) -> None:
    service, citizen, agency = world
    async with service.client() as client:
        dossier_id = await new_draft(client, citizen, agency)
        attached = await attach(client, citizen, dossier_id, filename="Tờ khai CT01.pdf")
        assert attached.status_code == 201, attached.text
        assert attached.json() | {"id": "-"} == {
            "id": "-", "document_code": "TP1", "filename": "Tờ khai CT01.pdf", "size": len(PDF),
            "sha256": hashlib.sha256(PDF).hexdigest(), "content_type": "application/pdf",
        }  # fmt: skip

        submitted = await client.post(
            f"/api/v1/dossiers/{dossier_id}/submit", json={"commitment": True}, headers=citizen.auth
        )
        assert submitted.status_code == 200, submitted.text
        body = submitted.json()
        assert body["status"] == "submitted"
        assert CODE.match(body["code"])
        assert body["code"].startswith(agency)
        assert re.fullmatch(r"[A-Z2-9]{8}", body["update_code"])

        mine = await client.get(f"/api/v1/dossiers/{body['code']}", headers=citizen.auth)
        public = await client.get(f"/api/v1/tracking/{body['code']}")

    view = mine.json()
    assert view["status"] == "submitted"
    assert view["applicant"]["id_number"] == citizen.id_number
    assert [a["filename"] for a in view["attachments"]] == ["Tờ khai CT01.pdf"]
    assert [t["status"] for t in view["timeline"]] == ["submitted"]

    tracked = public.json()
    assert tracked["status"] == "submitted"
    assert tracked["procedure_name"].startswith("Đăng ký tạm trú")
    for personal in (citizen.id_number, citizen.phone, "Nguyễn Thị Bích", "Đức Xuân"):
        assert personal not in public.text

    (event,) = await outbox_events(service, "dossier.submitted")
    assert event.dossier_code == body["code"]
    assert event.sequence == 1
    data = event.payload_as(events.DossierSubmitted)
    assert data.update_code == body["update_code"]
    assert [(f.document_code, f.sha256) for f in data.attachments] == [
        ("TP1", hashlib.sha256(PDF).hexdigest())
    ]
    async with service.runtime.db.transaction() as session:
        stored = await session.scalar(
            select(dossiers.c.update_code_hash).where(dossiers.c.code == body["code"])
        )
    assert stored
    assert body["update_code"] not in stored


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            {"kind": "proxy", "full_name": "Trần Văn Cường", "id_number": "001099000001",
             "relationship": "Con", "address": "Tổ 5, phường Đức Xuân"},
            {"relationship": "Con", "address": "Tổ 5, phường Đức Xuân",
             "legal_representative": None},
        ),
        (
            {"kind": "organisation", "organisation_name": "Công ty TNHH An Bình",
             "tax_code": "4700123456", "address": "Số 1, phường Đức Xuân",
             "legal_representative": "Lê Văn Dũng"},
            {"relationship": None, "address": "Số 1, phường Đức Xuân",
             "legal_representative": "Lê Văn Dũng"},
        ),
    ],
    ids=["proxy", "organisation"],
)  # fmt: skip
async def test_the_submission_tells_workflow_who_declared_for_whom(
    intake: ServiceUnderTest, given: dict[str, str], expected: dict[str, str | None]
) -> None:
    agency = await add_test_procedure(intake, applicant_kinds=("citizen", "proxy", "organisation"))
    citizen = await add_citizen(intake)
    async with intake.client() as client:
        created = await client.post(
            "/api/v1/dossiers", json=draft_body(agency, applicant=given), headers=citizen.auth
        )
        assert created.status_code == 201, created.text
        dossier_id = created.json()["id"]
        assert (await attach(client, citizen, dossier_id)).status_code == 201
        submitted = await client.post(
            f"/api/v1/dossiers/{dossier_id}/submit", json={"commitment": True}, headers=citizen.auth
        )
        assert submitted.status_code == 200, submitted.text
    (event,) = await outbox_events(intake, "dossier.submitted")
    applicant = event.payload_as(events.DossierSubmitted).applicant
    assert applicant.kind == given["kind"]
    assert {k: getattr(applicant, k) for k in expected} == expected
    assert applicant.declarant is not None
    assert applicant.declarant.id_number == citizen.id_number


async def test_form_documents_and_commitment_are_checked(
    world: tuple[ServiceUnderTest, Citizen, str],
) -> None:
    service, citizen, agency = world
    async with service.client() as client:
        bad_form = await client.post(
            "/api/v1/dossiers", json=draft_body(agency, form={"ho_ten": "A"}), headers=citizen.auth
        )
        dossier_id = await new_draft(client, citizen, agency)
        no_commitment = await client.post(
            f"/api/v1/dossiers/{dossier_id}/submit",
            json={"commitment": False},
            headers=citizen.auth,
        )
        incomplete = await client.post(
            f"/api/v1/dossiers/{dossier_id}/submit", json={"commitment": True}, headers=citizen.auth
        )
    assert bad_form.status_code == 422
    assert bad_form.headers["content-type"] == "application/problem+json"
    assert bad_form.json()["errors"] == [
        {"field": "form.dia_chi", "message": "Vui lòng nhập Địa chỉ tạm trú."}
    ]
    assert no_commitment.status_code == 422
    assert no_commitment.json()["errors"][0]["field"] == "commitment"
    assert incomplete.status_code == 422
    assert incomplete.json()["errors"] == [
        {"field": "attachments", "message": "Thiếu thành phần hồ sơ: Tờ khai CT01."}
    ]
    assert await outbox_events(service, "dossier.submitted") == []


async def test_refused_files_leave_nothing_behind(
    start_intake: StartIntake, object_store_server: ObjectStoreServer
) -> None:
    service = await start_intake(max_file_bytes=200_000, max_dossier_bytes=300_000)
    agency = await add_test_procedure(service)
    citizen = await add_citizen(service)

    async def chunked(body: bytes) -> AsyncIterator[bytes]:
        for i in range(0, len(body), 16_384):
            yield body[i : i + 16_384]

    async with service.client() as client:
        dossier_id = await new_draft(client, citizen, agency)
        fake_pdf = await attach(client, citizen, dossier_id, b"<html>not a pdf</html>" * 10)
        wrong_type = await attach(
            client, citizen, dossier_id, PNG, filename="anh.png", content_type="image/png"
        )
        traversal = await attach(client, citizen, dossier_id, filename="../../etc/passwd.pdf")
        # Written by hand: a browser or httpx would percent-encode the NUL byte.
        raw = (
            b'--b\r\nContent-Disposition: form-data; name="document_code"\r\n\r\nTP1\r\n'
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="to\x00khai.pdf"\r\n'
            b"Content-Type: application/pdf\r\n\r\n" + PDF + b"\r\n--b--\r\n"
        )
        nul = await client.post(
            f"/api/v1/dossiers/{dossier_id}/attachments", content=raw,
            headers={**citizen.auth, "content-type": "multipart/form-data; boundary=b"},
        )  # fmt: skip
        declared_too_big = await attach(client, citizen, dossier_id, PDF + b"0" * 250_000)
        # No Content-Length: refused while streaming, once past the limit.
        request = client.build_request(
            "POST", f"/api/v1/dossiers/{dossier_id}/attachments", headers=citizen.auth,
            data={"document_code": "TP1"}, files=[file_part(PDF + b"0" * 250_000)],
        )  # fmt: skip
        body = request.read()
        request = client.build_request(
            "POST", request.url, headers={**citizen.auth, "content-type": request.headers["content-type"]},
            content=chunked(body),
        )  # fmt: skip
        streamed_too_big = await client.send(request)

    for response, status in [
        (fake_pdf, 415), (wrong_type, 415), (traversal, 422), (nul, 422),
        (declared_too_big, 413), (streamed_too_big, 413),
    ]:  # fmt: skip
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"]
    assert "PDF" in fake_pdf.json()["detail"]

    async with service.runtime.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(attachments)) == 0
    s = object_store_server
    store = Minio(s.endpoint, access_key=s.access_key, secret_key=s.secret_key, secure=False)
    left = await asyncio.to_thread(
        lambda: list(
            store.list_objects("dossier-attachments", prefix=f"{dossier_id}/", recursive=True)
        )
    )
    assert left == []


async def test_file_count_per_document_is_limited(
    world: tuple[ServiceUnderTest, Citizen, str],
) -> None:
    service, citizen, agency = world
    async with service.client() as client:
        dossier_id = await new_draft(client, citizen, agency)
        codes = [(await attach(client, citizen, dossier_id)).status_code for _ in range(3)]
    assert codes == [201, 201, 422]


async def test_concurrent_submissions_to_one_agency_get_consecutive_distinct_codes(
    start_intake: StartIntake,
) -> None:
    # Sized for the burst (no shedding, a long wait for a connection): this test is about
    # the codes of submissions that all get in, not about overload.
    service = await start_intake(
        limit_submit_per_ip_hour=10_000, database_pool_size=20,
        max_in_flight=500, database_pool_timeout_seconds=180,
    )  # fmt: skip
    agency = await add_test_procedure(service)
    citizens = [await add_citizen(service) for _ in range(20)]
    drafts = []
    # 200 submissions queue on one agency's code sequence: the last may wait a while on a
    # busy machine; this test is about their codes, not their speed.
    async with service.client(timeout=180) as client:
        for i in range(200):
            citizen = citizens[i % len(citizens)]
            dossier_id = await new_draft(client, citizen, agency)
            async with service.runtime.db.transaction() as session:
                await session.execute(
                    attachments.insert().values(
                        id=uuid.uuid4(), dossier_id=uuid.UUID(dossier_id), document_code="TP1",
                        filename="a.pdf", content_type="application/pdf", size=1, sha256="0" * 64,
                        bucket="dossier-attachments", object_key=f"{dossier_id}/x",
                    )
                )  # fmt: skip
            drafts.append((citizen, dossier_id))

        async def submit(citizen: Citizen, dossier_id: str) -> httpx.Response:
            return await client.post(
                f"/api/v1/dossiers/{dossier_id}/submit",
                json={"commitment": True},
                headers=citizen.auth,
            )

        responses = await asyncio.gather(*(submit(c, d) for c, d in drafts))
    assert [r.status_code for r in responses] == [200] * 200, {
        r.text for r in responses if r.status_code != 200
    }
    codes = [r.json()["code"] for r in responses]
    numbers = sorted(int(CODE.match(code).group(1)) for code in codes)  # type: ignore[union-attr]
    assert len(set(codes)) == 200
    assert numbers == list(range(1, 201))
    assert len(await outbox_events(service, "dossier.submitted")) == 200


async def test_a_retried_submit_with_the_same_key_creates_one_dossier_and_one_event(
    world: tuple[ServiceUnderTest, Citizen, str],
) -> None:
    service, citizen, agency = world
    async with service.client() as client:
        dossier_id = await new_draft(client, citizen, agency)
        assert (await attach(client, citizen, dossier_id)).status_code == 201
        headers = {**citizen.auth, "Idempotency-Key": "submit-7f3a"}
        url = f"/api/v1/dossiers/{dossier_id}/submit"
        answers = await asyncio.gather(
            *(client.post(url, json={"commitment": True}, headers=headers) for _ in range(5))
        )
        later = await client.post(url, json={"commitment": True}, headers=headers)
        without_key = await client.post(url, json={"commitment": True}, headers=citizen.auth)
    assert {a.status_code for a in answers} == {200}
    assert len({json.dumps(a.json(), sort_keys=True) for a in [*answers, later]}) == 1
    assert without_key.status_code == 409  # already submitted, and no key to replay
    assert len(await outbox_events(service, "dossier.submitted")) == 1


async def test_drafts_are_idempotent_by_key_too(
    world: tuple[ServiceUnderTest, Citizen, str],
) -> None:
    service, citizen, agency = world
    headers = {**citizen.auth, "Idempotency-Key": "draft-1"}
    async with service.client() as client:
        first = await client.post("/api/v1/dossiers", json=draft_body(agency), headers=headers)
        again = await client.post("/api/v1/dossiers", json=draft_body(agency), headers=headers)
        other = await client.post(
            "/api/v1/dossiers",
            json=draft_body(agency, notify_via=["sms", "email"]),
            headers=headers,
        )
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert other.status_code == 422  # same key, another request


async def test_a_citizen_never_sees_or_changes_another_citizens_dossier(
    world: tuple[ServiceUnderTest, Citizen, str],
) -> None:
    service, owner, agency = world
    other = await add_citizen(service)
    async with service.client() as client:
        dossier_id = await new_draft(client, owner, agency)
        assert (await attach(client, owner, dossier_id)).status_code == 201
        code = (
            await client.post(
                f"/api/v1/dossiers/{dossier_id}/submit",
                json={"commitment": True},
                headers=owner.auth,
            )
        ).json()["code"]
        attempts = [
            await client.get(f"/api/v1/dossiers/{code}", headers=other.auth),
            await client.get(f"/api/v1/dossiers/{dossier_id}", headers=other.auth),
            await attach(client, other, dossier_id),
            await client.post(f"/api/v1/dossiers/{dossier_id}/submit", json={"commitment": True}, headers=other.auth),
            await client.post(f"/api/v1/dossiers/{code}/withdraw", json={"reason": "không cần nữa"}, headers=other.auth),
            await client.post(f"/api/v1/dossiers/{code}/supplement", files=[file_part(PDF)], data={"document_code": "TP1"}, headers=other.auth),
            await client.get(f"/api/v1/dossiers/{code}/result", headers=other.auth),
        ]  # fmt: skip
        others_list = await client.get("/api/v1/dossiers", headers=other.auth)
        anonymous = await client.get(f"/api/v1/dossiers/{code}")
    assert [r.status_code for r in attempts] == [404] * len(attempts)
    assert others_list.json() == {"items": [], "next_cursor": None}
    assert anonymous.status_code == 401
    async with service.client() as client:
        still = await client.get(f"/api/v1/dossiers/{code}", headers=owner.auth)
    assert still.json()["status"] == "submitted"
    assert len(still.json()["attachments"]) == 1


async def test_the_citizen_lists_their_dossiers_page_by_page(
    world: tuple[ServiceUnderTest, Citizen, str],
) -> None:
    service, citizen, agency = world
    async with service.client() as client:
        made = [await new_draft(client, citizen, agency) for _ in range(5)]
        seen, cursor = [], None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (
                await client.get("/api/v1/dossiers", params=params, headers=citizen.auth)
            ).json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
    assert seen == list(reversed(made))


async def test_search_finds_procedures_with_or_without_diacritics(intake: ServiceUnderTest) -> None:
    async with intake.client() as client:
        plain = await client.get("/api/v1/procedures", params={"q": "dang ky tam tru"})
        accented = await client.get("/api/v1/procedures", params={"q": "Đăng ký TẠM TRÚ"})
        seals = await client.get("/api/v1/procedures", params={"field": "seals", "limit": 100})
        detail = await client.get(f"/api/v1/procedures/{plain.json()['items'][0]['code']}")
        provinces = await client.get("/api/v1/agencies", params={"level": "province"})
        missing = await client.get(f"/api/v1/procedures/{PROCEDURE}")
    names = [p["name"] for p in plain.json()["items"]]
    assert names
    assert all("tạm trú" in n.lower() for n in names)
    assert plain.json() == accented.json()
    assert seals.json()["items"]
    assert {p["field"] for p in seals.json()["items"]} == {"seals"}
    assert {"form_schema", "documents", "cases"} <= set(detail.json())
    assert {"Công an tỉnh Bắc Kạn", "Công an tỉnh Sóc Trăng"} <= {
        a["name"] for a in provinces.json()["items"]
    }
    assert missing.status_code == 404
    assert missing.json()["detail"] == "Không tìm thấy thủ tục hành chính này."
    # A code is national only where its source was found; the invented ones say so.
    scopes = {p["code"]: p["code_scope"] for p in plain.json()["items"]}
    assert scopes["1.004194"] == "national"
    assert {p["code_scope"] for p in seals.json()["items"]} == {"local"}
    assert detail.json()["code_scope"] in ("national", "local")
    assert {a["code_status"] for a in provinces.json()["items"]} == {"demo"}


async def test_the_catalogue_in_force_is_published_for_the_other_services(
    intake: ServiceUnderTest,
) -> None:
    (published,) = await outbox_events(intake, "catalogue.published")
    terms = {p["code"]: p for p in published.data["procedures"]}
    async with intake.client() as client:
        listed = (await client.get("/api/v1/procedures", params={"limit": 100})).json()["items"]
    assert {p["code"] for p in listed} <= set(terms)
    assert all(terms[p["code"]]["processing_days"] == p["processing_days"] for p in listed)
    # The supplement deadline travels per procedure; a procedure silent on it, as none.
    assert terms["1.004194"]["supplement_days"] == 5
    assert terms["1.004222"]["supplement_days"] is None
    async with intake.client() as client:
        detail = (await client.get("/api/v1/procedures/1.004194")).json()
    assert detail["supplement_days"] == 5
    assert {a["code"] for a in published.data["agencies"]} >= {
        p["code"] for p in (await _provinces(intake))
    }


async def _provinces(intake: ServiceUnderTest) -> list[dict[str, str]]:
    async with intake.client() as client:
        answer = await client.get("/api/v1/agencies", params={"level": "province"})
    items: list[dict[str, str]] = answer.json()["items"]
    return items


async def test_submissions_are_rate_limited_per_account_with_retry_after(
    start_intake: StartIntake,
) -> None:
    service = await start_intake(limit_submit_per_account_hour=2)
    agency = await add_test_procedure(service)
    citizen = await add_citizen(service)
    async with service.client() as client:
        drafts = [await new_draft(client, citizen, agency) for _ in range(3)]
        for dossier_id in drafts:
            assert (await attach(client, citizen, dossier_id)).status_code == 201
        answers = [
            await client.post(
                f"/api/v1/dossiers/{d}/submit", json={"commitment": True}, headers=citizen.auth
            )
            for d in drafts
        ]
    assert [a.status_code for a in answers] == [200, 200, 429]
    refused = answers[2]
    assert refused.headers["content-type"] == "application/problem+json"
    assert 0 < int(refused.headers["retry-after"]) <= 3600
    assert len(await outbox_events(service, "dossier.submitted")) == 2


async def test_tracking_is_limited_per_address_whatever_the_code(
    intake: ServiceUnderTest, world: tuple[ServiceUnderTest, Citizen, str]
) -> None:
    _, citizen, agency = world
    async with intake.client() as client:
        dossier_id = await new_draft(client, citizen, agency)
        assert (await attach(client, citizen, dossier_id)).status_code == 201
        submitted = await client.post(
            f"/api/v1/dossiers/{dossier_id}/submit", json={"commitment": True},
            headers=citizen.auth,
        )  # fmt: skip
        code = submitted.json()["code"]
        unknown = await client.get("/api/v1/tracking/G01.000.000.000-000000-0000")
        assert unknown.status_code == 404  # counted all the same
        # The address's hour nearly spent (600 a page), as by other callers behind it.
        bucket = intake.runtime.ctx.limits.stored_name("tracking-ip:127.0.0.1")
        async with intake.runtime.db.statement() as connection:
            await connection.execute(
                "UPDATE rate_limits SET hits = 599 WHERE bucket = $1 AND hits = 1", bucket
            )
        last = await client.get(f"/api/v1/tracking/{code}")
        refused = await client.get(f"/api/v1/tracking/{code}")
        refused_unknown = await client.get("/api/v1/tracking/G01.000.000.000-000000-0000")
    assert last.status_code == 200, last.text
    assert last.json()["code"] == code
    for answer in (refused, refused_unknown):
        assert answer.status_code == 429, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert 0 < int(answer.headers["retry-after"]) <= 3600
        assert code not in answer.text
