"""The one-stop desk: a receiver registers a paper dossier (POST /api/v1/counter/dossiers)
on the real PostgreSQL, RabbitMQ and object store; who may; what is refused; a retry."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from minio import Minio
from sqlalchemy import func, select

from services.workflow.tests.integration.support import PASSWORD, PDF, emitted
from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.contracts.codes import DOSSIER_CODE, issuer_of
from shared.security import CITIZEN_AUDIENCE, TokenIssuer
from shared.storage import ATTACHMENTS_BUCKET
from shared.testing.infra import ObjectStoreServer, eventually
from shared.testing.service import ServiceUnderTest
from workflow.adapters.tables import agencies, cases, history, national_sync

pytestmark = pytest.mark.integration

PROVINCE, CITY, WARD = "G01.306.000.000", "G01.306.058.000", "G01.306.058.003"
OTHER_PROVINCE, OTHER_CITY = "G01.394.000.000", "G01.394.941.000"
TREE = [
    (PROVINCE, "Công an tỉnh Bắc Kạn", "province", None),
    (CITY, "Công an thành phố Bắc Kạn", "district", PROVINCE),
    (WARD, "Công an phường Đức Xuân", "commune", CITY),
    (OTHER_PROVINCE, "Công an tỉnh Sóc Trăng", "province", None),
    (OTHER_CITY, "Công an thành phố Sóc Trăng", "district", OTHER_PROVINCE),
]
PHONE = "0987654321"


def _catalogue() -> Envelope:
    data = ev.CataloguePublished(
        catalogue_version="desk-test",
        agencies=[ev.AgencyRef(code=c, name=n, level=lv, parent_code=p) for c, n, lv, p in TREE],
        procedures=[ev.ProcedureTerms(
            code="1.004194", name="Đăng ký tạm trú", field="residence", online_level="full",
            processing_days=3, fee_vnd=15000,
            documents=[ev.DocumentName(code="TP1", name="Tờ khai CT01", required=True),
                       ev.DocumentName(code="TP2", name="Giấy tờ chỗ ở hợp pháp")],
        )],
    )  # fmt: skip
    return Envelope.wrap(data, source="intake")


@pytest.fixture
async def desk(workflow: ServiceUnderTest) -> ServiceUnderTest:
    await workflow.publish(_catalogue())

    async def known() -> bool:
        async with workflow.runtime.db.transaction() as session:
            return bool(await session.scalar(select(func.count()).select_from(agencies)) == 5)

    await eventually(known, timeout=15, what="the catalogue's units")
    return workflow


async def _sign_in(service: ServiceUnderTest, username: str) -> dict[str, str]:
    async with service.client() as client:
        answer = await client.post(
            "/api/v1/auth/token", data={"username": username, "password": PASSWORD}
        )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _dossier(**over: Any) -> dict[str, Any]:
    return {
        "procedure_code": "1.004194",
        "applicant": {"kind": "citizen", "full_name": "Hà Văn Tùng", "id_number": "006090001234"},
        "form": {"ho_ten": "Hà Văn Tùng", "dia_chi": "Tổ 3, phường Đức Xuân"},
        "channel": "in_person",
        "notify_via": ["sms"],
        "phone": PHONE,
        **over,
    }


def _parts(dossier: dict[str, Any] | str, *files: tuple[str, bytes]) -> list[Any]:
    text = dossier if isinstance(dossier, str) else json.dumps(dossier)
    parts: list[Any] = [("dossier", (None, text, "application/json"))]
    for document_code, content in files:
        parts.append(("document_code", (None, document_code)))
        parts.append(("file", ("scan.pdf", content, "application/pdf")))
    return parts


async def _register(
    service: ServiceUnderTest, auth: dict[str, str], parts: list[Any], **headers: str
) -> httpx.Response:
    async with service.client() as client:
        return await client.post(
            "/api/v1/counter/dossiers", headers={**auth, **headers}, files=parts
        )


# Every test of a process shares one store, one test at a time: what a request left in
# the bucket is the count's change across it.
_STORE: list[ObjectStoreServer] = []


@pytest.fixture(autouse=True)
def _store(object_store_server: ObjectStoreServer) -> None:
    _STORE[:] = [object_store_server]


async def _objects(_service: ServiceUnderTest) -> int:
    server = _STORE[0]

    def listed() -> int:
        client = Minio(
            server.endpoint, access_key=server.access_key, secret_key=server.secret_key,
            secure=False,
        )  # fmt: skip
        return sum(1 for _ in client.list_objects(ATTACHMENTS_BUCKET, recursive=True))

    return await asyncio.to_thread(listed)


async def test_a_paper_dossier_gets_a_desk_code_and_is_received_at_once(
    desk: ServiceUnderTest,
) -> None:
    receiver = await _sign_in(desk, "bkc.tiepnhan")
    answer = await _register(
        desk, receiver, _parts(_dossier(receive_now=True), ("TP1", PDF), ("TP2", PDF))
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    code = body["code"]
    assert DOSSIER_CODE.match(code)
    assert code.startswith(f"{CITY}-")
    assert issuer_of(code) == "desk"
    assert len(body["update_code"]) == 8
    assert body["status"] == "received"
    assert body["received_at"]
    assert body["due_at"]
    assert body["receipt_url"] == f"/api/v1/dossiers/{code}/forms/receipt.pdf"

    events = await emitted(desk, code)
    assert [e.type for e in events] == ["dossier.registered", "dossier.received"]
    assert [e.sequence for e in events] == [1, 2]
    registered = events[0].payload_as(ev.DossierRegistered)
    assert registered.channel == "in_person"
    assert registered.update_code == body["update_code"]
    assert registered.recipient.phone == PHONE
    assert registered.recipient.channels == [ev.Channel.SMS]
    assert [a.document_code for a in registered.attachments] == ["TP1", "TP2"]
    assert registered.registered_by.name
    assert registered.registered_by.role == "receiver"
    assert registered.processing_days == 3
    assert registered.fee_vnd == 15000
    # The scans are in the attachments bucket, under the dossier's id, never its name.
    for attachment in registered.attachments:
        assert attachment.bucket == ATTACHMENTS_BUCKET
        assert attachment.key.startswith(f"{registered.dossier_id}/")
        assert await desk.runtime.store.get_bytes(attachment.bucket, attachment.key) == PDF
    received = events[1].payload_as(ev.DossierReceived)
    assert received.channel == "direct"
    # The update code is a secret: redacted from what is logged or archived.
    assert "update_code" not in events[0].redacted().data

    async with desk.runtime.db.transaction() as session:
        kinds = (
            await session.execute(
                select(national_sync.c.status_code, national_sync.c.record)
                .where(national_sync.c.dossier_code == code)
                .order_by(national_sync.c.sequence)
            )
        ).all()
        trail = (
            await session.execute(
                select(history.c.action, history.c.actor_kind)
                .join(cases, cases.c.id == history.c.case_id)
                .where(cases.c.code == code)
                .order_by(history.c.id)
            )
        ).all()
    assert [k.status_code for k in kinds] == [1, 2]
    assert {k.record["KenhThucHien"] for k in kinds} == {1}
    assert [tuple(t) for t in trail] == [("register", "officer"), ("receive", "officer")]

    # The officers' view shows it like any other dossier, the receipt form included.
    async with desk.client() as client:
        detail = await client.get(f"/api/v1/dossiers/{code}", headers=receiver)
        receipt = await client.get(body["receipt_url"], headers=receiver)
    assert detail.status_code == 200, detail.text
    assert detail.json()["contact"]["phone"] == PHONE
    assert receipt.status_code == 200
    assert receipt.headers["content-type"] == "application/pdf"


async def test_registered_by_post_it_waits_and_is_received_later_as_direct(
    desk: ServiceUnderTest,
) -> None:
    receiver = await _sign_in(desk, "bkc.tiepnhan")
    answer = await _register(desk, receiver, _parts(_dossier(channel="post"), ("TP1", PDF)))
    assert answer.status_code == 201, answer.text
    code = answer.json()["code"]
    assert answer.json()["status"] == "submitted"
    assert answer.json()["receipt_url"] is None
    async with desk.client() as client:
        later = await client.post(f"/api/v1/dossiers/{code}/receive", headers=receiver)
    assert later.status_code == 200, later.text
    events = await emitted(desk, code)
    assert [e.type for e in events] == ["dossier.registered", "dossier.received"]
    assert events[0].payload_as(ev.DossierRegistered).channel == "post"
    assert events[1].payload_as(ev.DossierReceived).channel == "direct"
    async with desk.runtime.db.transaction() as session:
        records = (
            await session.scalars(
                select(national_sync.c.record).where(national_sync.c.dossier_code == code)
            )
        ).all()
    assert {r["KenhThucHien"] for r in records} == {3}


async def test_the_codes_of_a_day_follow_each_other_in_the_desk_range(
    desk: ServiceUnderTest,
) -> None:
    receiver = await _sign_in(desk, "bk.tiepnhan")
    codes = []
    for _ in range(2):
        answer = await _register(desk, receiver, _parts(_dossier()))
        assert answer.status_code == 201, answer.text
        codes.append(answer.json()["code"])
    first, second = (int(c.rsplit("-", 1)[1]) for c in codes)
    assert first >= 90_001
    assert second == first + 1


# Who may register a paper dossier for the city police (CITY): its own receivers only.
MATRIX = [
    ("bkc.tiepnhan", None, 201),  # receiver of the unit, for its own unit
    ("bkc.tiepnhan", CITY, 201),  # the same, naming it
    ("bk.tiepnhan", CITY, 403),  # receiver of the parent unit
    ("bkdx.tiepnhan", CITY, 403),  # receiver of a unit below
    ("stc.tiepnhan", CITY, 403),  # receiver of a unit of the same level elsewhere
    ("st.tiepnhan", PROVINCE, 403),  # receiver of a sibling province, for this province
    ("bkc.tiepnhan", PROVINCE, 403),  # the unit's receiver, for its parent
    ("bkc.xuly", None, 403),
    ("bkc.lanhdao", None, 403),
    ("bkc.quantri", None, 403),
]


async def test_only_a_receiver_of_the_unit_registers_for_it(desk: ServiceUnderTest) -> None:
    before = await _objects(desk)
    for username, agency_code, expected in MATRIX:
        auth = await _sign_in(desk, username)
        over = {"agency_code": agency_code} if agency_code else {}
        answer = await _register(desk, auth, _parts(_dossier(**over), ("TP1", PDF)))
        assert answer.status_code == expected, (username, agency_code, answer.text)
        if expected == 201:
            assert answer.json()["code"].startswith(f"{CITY}-")
        else:
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert answer.json()["detail"]
    # Two registrations stored their scan; every refusal stored nothing.
    assert await _objects(desk) == before + 2


async def test_a_citizen_or_no_token_is_not_signed_in(desk: ServiceUnderTest) -> None:
    secret = desk.runtime.settings.secret("jwt_secret")
    citizen, _ = TokenIssuer(secret, issuer="intake", audience=CITIZEN_AUDIENCE).issue(
        str(uuid.uuid4()), "citizen"
    )
    for headers in ({}, {"Authorization": f"Bearer {citizen}"}, {"Authorization": "Bearer x"}):
        answer = await _register(desk, headers, _parts(_dossier(), ("TP1", PDF)))
        assert answer.status_code == 401, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
    async with desk.runtime.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(cases)) == 0


TRUNCATED_BODY = (
    b'--b\r\nContent-Disposition: form-data; name="dossier"\r\n\r\n'
    + json.dumps(_dossier()).encode()
    + b'\r\n--b\r\nContent-Disposition: form-data; name="document_code"\r\n\r\nTP1\r\n'
    b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n' + PDF[:100]
)


@pytest.mark.parametrize(
    ("parts", "expected", "field"),
    [
        (_parts(_dossier(procedure_code="9.999999")), 422, "dossier.procedure_code"),
        (_parts("{not json"), 422, "dossier"),
        (_parts(json.dumps(_dossier()).replace('"form": {', '"form": {"n": NaN, ')), 422, "dossier"),
        (_parts(_dossier(channel="online")), 422, "dossier.channel"),
        (_parts(_dossier(phone=None)), 422, "dossier"),
        (_parts(_dossier(phone="12345")), 422, "dossier.phone"),
        (_parts(_dossier(unknown=1)), 422, "dossier.unknown"),
        (_parts(_dossier(form={"ho_ten": "Hà\u0000"})), 422, "dossier.form.ho_ten"),
        (_parts(_dossier(applicant={"kind": "citizen", "full_name": "A\u0000"})), 422,
         "dossier.applicant.full_name"),
        (_parts(_dossier(form=[])), 422, "dossier.form"),
        (_parts(_dossier(), ("TP9", PDF)), 422, "document_code"),
        (_parts(_dossier(), ("TP1", b"<html>not a scan</html>" * 10)), 415, "file"),
        (_parts(_dossier(), ("TP1", PDF[:-6])), 415, "file"),
        ([("file", ("a.pdf", PDF, "application/pdf"))], 422, "dossier"),
    ],
    ids=[
        "unknown-procedure", "not-json", "nan", "online-channel", "sms-without-phone", "bad-phone",
        "unknown-field", "nul-in-form", "nul-in-name", "form-not-object", "unknown-document",
        "not-a-scan", "cut-pdf", "dossier-not-first",
    ],
)  # fmt: skip
async def test_a_bad_request_is_refused_in_words_and_stores_nothing(
    desk: ServiceUnderTest, parts: list[Any], expected: int, field: str
) -> None:
    receiver = await _sign_in(desk, "bkc.tiepnhan")
    before = await _objects(desk)
    answer = await _register(desk, receiver, parts)
    assert answer.status_code == expected, answer.text
    problem = answer.json()
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert problem["detail"]
    if problem.get("errors"):
        assert any(e["field"].startswith(field) for e in problem["errors"]), problem
    assert await _objects(desk) == before
    async with desk.runtime.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(cases)) == 0


async def test_a_body_that_is_not_multipart_or_is_cut_short_is_refused(
    desk: ServiceUnderTest,
) -> None:
    receiver = await _sign_in(desk, "bkc.tiepnhan")
    before = await _objects(desk)
    async with desk.client() as client:
        as_json = await client.post("/api/v1/counter/dossiers", headers=receiver, json=_dossier())
        cut = await client.post(
            "/api/v1/counter/dossiers",
            headers={**receiver, "Content-Type": "multipart/form-data; boundary=b"},
            content=TRUNCATED_BODY,
        )
    assert as_json.status_code == 415, as_json.text
    assert cut.status_code == 400, cut.text
    assert await _objects(desk) == before


async def test_the_same_key_twice_registers_one_dossier(desk: ServiceUnderTest) -> None:
    receiver = await _sign_in(desk, "bkc.tiepnhan")
    parts = _parts(_dossier(receive_now=True), ("TP1", PDF))
    before = await _objects(desk)
    key = {"Idempotency-Key": f"desk-{uuid.uuid4()}"}
    # At once, as a double click would; then once more after both answered.
    first, second = await asyncio.gather(
        _register(desk, receiver, parts, **key), _register(desk, receiver, parts, **key)
    )
    third = await _register(desk, receiver, parts, **key)
    assert first.status_code == second.status_code == third.status_code == 201
    assert first.json() == second.json() == third.json()
    async with desk.runtime.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(cases)) == 1
    # The retries' copies of the scan were removed: one object for one dossier.
    assert await _objects(desk) == before + 1
    # The same key for another dossier is refused, in words.
    other = await _register(desk, receiver, _parts(_dossier(channel="post")), **key)
    assert other.status_code == 422, other.text
    assert other.json()["type"] == "urn:dvc:idempotency-key-reused"
