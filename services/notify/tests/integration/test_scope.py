"""Who reads which deliveries: an officer those of their agency's dossiers, an admin also
those of the agencies under theirs (the tree comes with `catalogue.published`), the
messages of no dossier (account codes) only the admins who run notify; the recipient
filter is the admins'; only officers' tokens with an agency get in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.notify.tests.conftest import OPERATIONS, WORKFLOW, StartNotify, officer
from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.security import CITIZEN_AUDIENCE, TokenIssuer
from shared.testing.infra import eventually
from shared.testing.service import ServiceUnderTest

pytestmark = pytest.mark.integration

BAC_KAN = "G01.306.000.000"
BAC_KAN_CITY = "G01.306.058.000"
SOC_TRANG = "G01.394.000.000"
NAMES = {
    BAC_KAN: "Công an tỉnh Bắc Kạn",
    BAC_KAN_CITY: "Công an thành phố Bắc Kạn",
    SOC_TRANG: "Công an tỉnh Sóc Trăng",
}
NOW = datetime.now(UTC)
PEOPLE = {
    BAC_KAN: ev.Recipient(full_name="Nguyễn Thị Bích", phone="0912345678",
                          email="bich@example.vn", channels=[ev.Channel.SMS, ev.Channel.EMAIL]),
    BAC_KAN_CITY: ev.Recipient(full_name="Ma Văn Sơn", phone="0913111222",
                               email="son@example.vn", channels=[ev.Channel.SMS, ev.Channel.EMAIL]),
    SOC_TRANG: ev.Recipient(full_name="Thạch Thị Sa", phone="0914333444",
                            email="sa@example.vn", channels=[ev.Channel.SMS, ev.Channel.EMAIL]),
}  # fmt: skip


def catalogue() -> Envelope:
    agencies = [
        ev.AgencyRef(code=BAC_KAN, name=NAMES[BAC_KAN], level="province"),
        ev.AgencyRef(code=BAC_KAN_CITY, name=NAMES[BAC_KAN_CITY], level="district",
                     parent_code=BAC_KAN),
        ev.AgencyRef(code=SOC_TRANG, name=NAMES[SOC_TRANG], level="province"),
    ]  # fmt: skip
    data = ev.CataloguePublished(catalogue_version="test", procedures=[], agencies=agencies)
    return Envelope.wrap(data, source="intake")


def received(agency: str) -> Envelope:
    data = ev.DossierReceived(
        procedure_code="1.004194", procedure_name="Đăng ký tạm trú", field="residence",
        agency_code=agency, agency_name=NAMES[agency], status=ev.DossierStatus.RECEIVED,
        actor=ev.Actor(kind="officer", name="Hoàng Thị Lan"), received_at=NOW,
        due_at=NOW + timedelta(days=3), recipient=PEOPLE[agency], channel="online",
        counted_from=NOW, rule_set="nd-118-2025",
    )  # fmt: skip
    return Envelope.wrap(data, source="workflow", dossier_code=f"{agency}-{uuid.uuid4().hex[:6]}")


def otp() -> Envelope:
    data = ev.AccountOtpRequested(account_id=uuid.uuid4(), purpose="register", phone="0911222333",
                                  otp="482913", expires_at=NOW + timedelta(minutes=5))  # fmt: skip
    return Envelope.wrap(data, source="intake")


async def listed(notify: ServiceUnderTest, headers: dict[str, str], **params: Any) -> Any:
    async with notify.client() as client:
        return await client.get("/api/v1/notifications", headers=headers, params=params)


def codes(answer: Any) -> set[str | None]:
    assert answer.status_code == 200, answer.text
    return {item["dossier_code"] for item in answer.json()["items"]}


async def test_an_officer_reads_only_the_deliveries_of_their_agency(
    notify: ServiceUnderTest,
) -> None:
    await notify.publish(catalogue())
    dossiers = {agency: received(agency) for agency in NAMES}
    for item in [*dossiers.values(), otp()]:
        await notify.publish(item)
    code = {agency: item.dossier_code for agency, item in dossiers.items()}
    everything = officer("admin", OPERATIONS)

    async def all_there() -> bool:
        return len((await listed(notify, officer("admin", BAC_KAN))).json()["items"]) == 4

    # The city's two messages reach the province's admin once the tree has arrived.
    await eventually(all_there, timeout=20, what="the province's and the city's deliveries")

    soc_trang = await listed(notify, officer("receiver", SOC_TRANG))
    assert codes(soc_trang) == {code[SOC_TRANG]}
    shown = soc_trang.text
    for name in ("Nguyễn Thị Bích", "Ma Văn Sơn", code[BAC_KAN], code[BAC_KAN_CITY]):
        assert name not in shown
    # Another agency's dossier, or its citizen's phone, lists nothing.
    assert (
        codes(await listed(notify, officer("admin", SOC_TRANG), dossier_code=code[BAC_KAN]))
        == set()
    )
    assert codes(await listed(notify, officer("admin", SOC_TRANG), recipient="0912345678")) == set()
    # The recipient filter is for admins only.
    by_phone = await listed(notify, officer("receiver", BAC_KAN), recipient="0912345678")
    assert by_phone.status_code == 403
    assert codes(await listed(notify, officer("admin", BAC_KAN), recipient="0912345678")) == {
        code[BAC_KAN]
    }

    # A province's admin reads the city's too; the province's receiver and the city's
    # officers only their own.
    assert codes(await listed(notify, officer("admin", BAC_KAN))) == {
        code[BAC_KAN], code[BAC_KAN_CITY]
    }  # fmt: skip
    assert codes(await listed(notify, officer("receiver", BAC_KAN))) == {code[BAC_KAN]}
    assert codes(await listed(notify, officer("admin", BAC_KAN_CITY))) == {code[BAC_KAN_CITY]}
    # An account's code belongs to no dossier: only the admins who run notify read it.
    assert codes(await listed(notify, everything)) == {None}
    assert codes(await listed(notify, officer("receiver", OPERATIONS))) == set()

    # Nor can another agency's delivery be sent again.
    bac_kan = (await listed(notify, officer("admin", BAC_KAN))).json()["items"][0]["id"]
    async with notify.client() as client:
        other = await client.post(
            f"/api/v1/notifications/{bac_kan}/resend", headers=officer("admin", SOC_TRANG)
        )
    assert other.status_code == 404


async def test_only_an_officers_token_with_an_agency_reads_deliveries(
    notify: ServiceUnderTest,
) -> None:
    no_agency, _ = WORKFLOW.issue("officer-2", "admin", name="Không có đơn vị")
    not_an_officer, _ = WORKFLOW.issue("citizen-1", "citizen", agency=BAC_KAN)
    citizen, _ = TokenIssuer(
        "intake-test-secret", issuer="intake", audience=CITIZEN_AUDIENCE
    ).issue("citizen-1", "citizen")
    answers = {
        name: await listed(notify, {"Authorization": f"Bearer {token}"})
        for name, token in (
            ("no_agency", no_agency), ("not_an_officer", not_an_officer), ("citizen", citizen)
        )
    }  # fmt: skip
    assert answers["no_agency"].status_code == 403
    assert answers["not_an_officer"].status_code == 403
    assert answers["citizen"].status_code == 401
    assert (await listed(notify, officer("receiver", BAC_KAN))).status_code == 200


async def test_the_development_sms_box_needs_an_officer(start_notify: StartNotify) -> None:
    notify = await start_notify(sms_provider="development")
    async with notify.client() as client:
        anonymous = await client.get("/api/v1/dev/sms")
        signed_in = await client.get("/api/v1/dev/sms", headers=officer("receiver"))
    assert anonymous.status_code == 401
    assert signed_in.status_code == 200
