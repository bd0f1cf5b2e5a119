"""Events in, messages out: the right text on the right channels, once, with retries,
dead letters and the operators' view."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from notify.adapters.channels import ScriptedSmsProvider
from notify.adapters.tables import attempts, deliveries
from notify.domain.delivery import PermanentSendError, TransientSendError
from services.notify.tests.conftest import OPERATIONS, Mailbox, StartNotify, officer
from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.testing.infra import eventually
from shared.testing.service import ServiceUnderTest

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
CITIZEN = ev.Recipient(
    full_name="Nguyễn Thị Bích", phone="0912345678", email="bich@example.vn",
    channels=[ev.Channel.SMS, ev.Channel.EMAIL],
)  # fmt: skip
DOSSIER = {
    "procedure_code": "1.004194", "procedure_name": "Đăng ký tạm trú", "field": "residence",
    "agency_code": "G01.306.000.000", "agency_name": "Công an tỉnh Bắc Kạn",
}  # fmt: skip
WORKFLOW = {
    **DOSSIER, "actor": ev.Actor(kind="officer", name="Hoàng Thị Lan"), "received_at": NOW,
    "due_at": NOW + timedelta(days=3), "recipient": CITIZEN,
}  # fmt: skip


def envelope(data: ev.EventData, code: str | None = None) -> Envelope:
    return Envelope.wrap(data, source="test", dossier_code=code or f"G01-{uuid.uuid4().hex[:8]}")


def otp_requested(occurred_at: datetime | None = None) -> Envelope:
    """intake's one-time code for a new account, valid five minutes."""
    return Envelope.wrap(
        ev.AccountOtpRequested(account_id=uuid.uuid4(), purpose="register", phone="0911222333",
                               otp="482913", expires_at=NOW + timedelta(minutes=5)),
        source="intake", occurred_at=occurred_at,
    )  # fmt: skip


def every_event(recipient: ev.Recipient = CITIZEN) -> dict[str, ev.EventData]:
    workflow = {**WORKFLOW, "recipient": recipient}
    status = ev.DossierStatus
    lan = ev.Recipient(full_name="Nông Văn Minh", phone="0987654321", email="minh@example.vn",
                       channels=[ev.Channel.EMAIL, ev.Channel.SMS])  # fmt: skip
    return {
        "submitted": ev.DossierSubmitted(
            **DOSSIER, status=status.SUBMITTED, dossier_id=uuid.uuid4(), online_level="full",
            submitted_at=NOW, applicant=ev.Applicant(kind="citizen", full_name="Nguyễn Thị Bích"),
            form={}, attachments=[], result_delivery=ev.ResultDelivery(method="in_person"),
            recipient=recipient, update_code="K7Q2MZ",
        ),
        "received": ev.DossierReceived(
            **workflow, status=status.RECEIVED, channel="online", counted_from=NOW,
            rule_set="nd-118-2025",
        ),
        "supplement_requested": ev.DossierSupplementRequested(
            **workflow, status=status.SUPPLEMENT_REQUESTED, requested_at=NOW,
            items=[ev.SupplementItem(description="Bản sao giấy tờ chỗ ở hợp pháp"),
                   ev.SupplementItem(description="Ảnh chân dung 4x6 nền trắng")],
        ),
        "rejected": ev.DossierRejected(
            **workflow, status=status.REJECTED, reason="Địa chỉ ngoài địa bàn quản lý",
            rejected_at=NOW, stage="intake",
        ),
        "result_ready": ev.DossierResultReady(
            **workflow, status=status.RESULT_READY, resolved_at=NOW, judgement=ev.Judgement.EARLY,
            result_summary="Đã xác nhận đăng ký tạm trú",
            delivery=ev.ResultDelivery(method="post", address="Tổ 5"),
        ),
        "returned": ev.DossierReturned(
            **workflow, status=status.RETURNED, returned_at=NOW, originals_verified=True
        ),
        "deadline_extended": ev.DossierDeadlineExtended(
            **workflow, status=status.IN_PROGRESS, original_due_at=NOW,
            new_due_at=datetime(2026, 12, 15, 10, tzinfo=UTC), reason="Chờ xác minh",
        ),
        "withdrawn": ev.DossierWithdrawn(
            **DOSSIER, status=status.WITHDRAWN, dossier_id=uuid.uuid4(), reason="Không cần nữa",
            withdrawn_at=NOW, recipient=recipient,
        ),
        "due_soon": ev.DossierDueSoon(
            **{**workflow, "recipient": None}, status=status.IN_PROGRESS, working_hours_left=6,
            officer_contacts=[lan],
        ),
        "overdue": ev.DossierOverdue(
            **{**workflow, "recipient": None}, status=status.IN_PROGRESS, officer_contacts=[lan]
        ),
        "supplement_due_soon": ev.DossierSupplementDueSoon(
            **workflow, status=status.SUPPLEMENT_REQUESTED, round=1, working_hours_left=8,
            supplement_due_at=datetime(2026, 12, 9, 10, tzinfo=UTC),
        ),
        "stopped": ev.DossierStopped(
            **workflow, status=status.STOPPED, stopped_at=NOW,
            reason="Quá thời hạn bổ sung, hoàn thiện hồ sơ mà công dân chưa bổ sung",
        ),
        "assigned": ev.DossierAssigned(
            **workflow, status=status.IN_PROGRESS, assignee=ev.Actor(kind="officer")
        ),
    }  # fmt: skip


def sms(notify: ServiceUnderTest) -> ScriptedSmsProvider:
    provider = notify.app.state.ctx.sms
    assert isinstance(provider, ScriptedSmsProvider)
    return provider


async def count(notify: ServiceUnderTest, **where: Any) -> int:
    query = select(func.count()).select_from(deliveries)
    for name, value in where.items():
        query = query.where(deliveries.c[name] == value)
    async with notify.runtime.db.transaction() as session:
        return int(await session.scalar(query) or 0)


async def settled(notify: ServiceUnderTest, expected: int) -> None:
    """Wait until `expected` deliveries exist and none is pending."""

    async def done() -> bool:
        return await count(notify) == expected and await count(notify, status="pending") == 0

    await eventually(done, timeout=20, what=f"{expected} settled deliveries")


async def test_each_event_is_told_to_the_right_people_on_their_channels(
    notify: ServiceUnderTest, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, _ = smtp
    published = {name: envelope(data) for name, data in every_event().items()}
    for item in published.values():
        await notify.publish(item)
    otp = otp_requested(occurred_at=NOW)
    await notify.publish(otp)
    # 10 citizen events × 2 channels, 2 officer events × 2 channels, the OTP by SMS only;
    # an assignment tells nobody.
    await settled(notify, 10 * 2 + 2 * 2 + 1)

    texts = {phone_text[1] for phone_text in sms(notify).sent}
    code = published["submitted"].dossier_code
    assert any(f"Ho so {code}" in t and "K7Q2MZ" in t for t in texts)
    assert any("482913" in t for t in texts)
    assert all(t.isascii() for t in texts)
    subjects = {m["Subject"]: m for m in mailbox.to("bich@example.vn")}
    assert len(subjects) == 10
    reminder = next(m for s, m in subjects.items() if "Sắp hết hạn bổ sung" in s)
    assert "17:00 ngày 09/12/2026" in _text(reminder)
    stopped = next(m for s, m in subjects.items() if "dừng giải quyết" in s)
    assert "Quá thời hạn bổ sung" in _text(stopped)
    assert any("sap het han bo sung (17:00 ngay 09/12/2026)" in t for t in texts)
    text = _text(next(m for s, m in subjects.items() if "cần bổ sung" in s))
    assert "1. Bản sao giấy tờ chỗ ở hợp pháp; 2. Ảnh chân dung 4x6 nền trắng" in text
    apology = next(m for s, m in subjects.items() if "xin lỗi" in s.lower())
    assert "15/12/2026" in _text(apology)
    result = next(m for s, m in subjects.items() if "đã có kết quả" in s)
    assert "bưu chính" in _text(result)
    assert {m["Subject"] for m in mailbox.to("minh@example.vn")} == {
        f"[Sắp đến hạn] Hồ sơ {published['due_soon'].dossier_code}",
        f"[Quá hạn] Hồ sơ {published['overdue'].dossier_code}",
    }
    assert await count(notify, event_type="dossier.assigned") == 0

    # Delivered again (a broker redelivery, a replay): nothing more is sent.
    for item in [*published.values(), otp]:
        await notify.publish(item)
    probe = envelope(every_event()["returned"])
    await notify.publish(probe)
    await settled(notify, 25 + 2)
    assert len(sms(notify).sent) == 10 + 2 + 1 + 1
    assert len(mailbox.messages) == 10 + 2 + 1


async def test_an_smtp_server_that_refuses_twice_then_accepts(
    notify: ServiceUnderTest, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, _ = smtp
    mailbox.refuse_next = 2
    email_only = ev.Recipient(full_name="Trần Văn An", email="an@example.vn",
                              channels=[ev.Channel.EMAIL])  # fmt: skip
    await notify.publish(envelope(every_event(email_only)["received"]))
    await settled(notify, 1)
    assert mailbox.refused == 2
    assert len(mailbox.to("an@example.vn")) == 1
    async with notify.runtime.db.transaction() as session:
        row = (await session.execute(select(deliveries))).mappings().one()
        tried = (
            await session.execute(
                select(attempts.c.outcome).where(attempts.c.delivery_id == row["id"])
                .order_by(attempts.c.attempt)
            )
        ).scalars().all()  # fmt: skip
    assert row["status"] == "sent"
    assert row["attempts"] == 3
    assert tried == ["retried", "retried", "sent"]
    # Every attempt is the same message to the mail system: one Message-ID, so a copy
    # delivered by an attempt that only seemed to fail is recognised as the same e-mail.
    (accepted,) = mailbox.to("an@example.vn")
    assert accepted["Message-ID"] is not None
    message_id = str(accepted["Message-ID"]).strip()
    assert [i.strip() for i in mailbox.refused_ids] == [message_id] * 2
    assert re.fullmatch(r"<[^@<>\s]+@[^@<>\s]+>", message_id)
    sent_at = parsedate_to_datetime(accepted["Date"])
    assert abs((sent_at - datetime.now(UTC)).total_seconds()) < 600


async def test_an_sms_gateway_down_for_the_whole_retry_window_makes_the_delivery_dead(
    notify: ServiceUnderTest, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, _ = smtp
    sms(notify).fail = lambda _phone: TransientSendError("gateway 503")
    dead_before = _metric("notify_deliveries_total", channel="sms", outcome="dead")
    await notify.publish(envelope(every_event()["received"]))
    await notify.publish(envelope(every_event()["rejected"]))
    await settled(notify, 4)
    # The emails went out while the SMS gateway was down.
    assert len(mailbox.to("bich@example.vn")) == 2
    assert await count(notify, channel="sms", status="dead") == 2
    assert _metric("notify_deliveries_total", channel="sms", outcome="dead") - dead_before == 2
    async with notify.client() as client:
        listed = await client.get(
            "/api/v1/notifications", params={"status": "dead"}, headers=officer("admin")
        )
        dead = listed.json()["items"]
        assert [d["attempts"] for d in dead] == [3, 3]
        # The gateway is back: an operator sends them again.
        sms(notify).fail = lambda _phone: None
        for item in dead:
            resent = await client.post(
                f"/api/v1/notifications/{item['id']}/resend", headers=officer("admin")
            )
            assert resent.status_code == 200
        refused = await client.post(
            f"/api/v1/notifications/{dead[0]['id']}/resend", headers=officer("receiver")
        )
        assert refused.status_code == 403
    await settled(notify, 4)
    assert await count(notify, status="sent") == 4


async def test_an_invalid_number_fails_at_once_without_retries(notify: ServiceUnderTest) -> None:
    sms(notify).fail = lambda _phone: PermanentSendError("unknown subscriber")
    await notify.publish(envelope(every_event()["received"]))
    await settled(notify, 2)
    assert await count(notify, channel="sms", status="failed", attempts=1) == 1


async def test_operators_see_masked_addresses_and_never_an_otp(notify: ServiceUnderTest) -> None:
    otp = otp_requested()
    await notify.publish(otp)
    await notify.publish(envelope(every_event()["received"]))
    await settled(notify, 3)
    async with notify.client() as client:
        plain = (await client.get("/api/v1/notifications", headers=officer("receiver"))).json()
        full = (await client.get("/api/v1/notifications", headers=officer("admin"))).json()
        # The account's code is of no dossier: only the admins who run notify read it.
        operations = (
            await client.get("/api/v1/notifications", headers=officer("admin", OPERATIONS))
        ).json()
        anonymous = await client.get("/api/v1/notifications")
        dev = await client.get("/api/v1/dev/sms", headers=officer("admin"))
    recipients = {i["recipient"] for i in plain["items"]}
    assert recipients == {"09******78", "b***@example.vn"}
    assert {i["recipient"] for i in full["items"]} == {"0912345678", "bich@example.vn"}
    assert {i["recipient"] for i in operations["items"]} == {"0911222333"}
    read = plain["items"] + full["items"] + operations["items"]
    assert all("482913" not in (i["body"] or "") for i in read)
    assert anonymous.status_code == 401
    # The scripted provider is not the development one: its messages are not readable.
    assert dev.status_code == 404


async def test_templates_are_versioned_and_checked_when_saved(notify: ServiceUnderTest) -> None:
    admin = officer("admin")
    async with notify.client() as client:
        unknown = await client.put(
            "/api/v1/templates/dossier.received.sms", headers=admin,
            json={"body": "Ho so {{ code }} hen tra {{ ngay_hen }}"},
        )  # fmt: skip
        saved = await client.put(
            "/api/v1/templates/dossier.received.sms", headers=admin,
            json={"body": "Ho so {{ code }} da tiep nhan, hen tra {{ due_date }}."},
        )  # fmt: skip
        not_admin = await client.put(
            "/api/v1/templates/dossier.received.sms", headers=officer("processor"),
            json={"body": "x"},
        )  # fmt: skip
        versions = (
            await client.get("/api/v1/templates/dossier.received.sms", headers=admin)
        ).json()["versions"]
    assert unknown.status_code == 422
    assert "ngay_hen" in unknown.json()["errors"][0]["message"]
    assert saved.json()["version"] == 2
    assert not_admin.status_code == 403
    assert [v["version"] for v in versions] == [2, 1]
    await notify.publish(envelope(every_event()["received"]))
    await settled(notify, 2)
    async with notify.runtime.db.transaction() as session:
        used = (
            await session.execute(
                select(deliveries.c.template_version).where(deliveries.c.channel == "sms")
            )
        ).scalar_one()
    assert used == 2
    assert any("da tiep nhan, hen tra" in text for _, text in sms(notify).sent)


async def test_the_development_provider_keeps_what_it_would_send(
    start_notify: StartNotify,
) -> None:
    notify = await start_notify(sms_provider="development")
    otp = otp_requested()
    await notify.publish(otp)
    await settled(notify, 1)
    async with notify.client() as client:
        box = (
            await client.get(
                "/api/v1/dev/sms", params={"phone": "0911222333"}, headers=officer("receiver")
            )
        ).json()
    assert "482913" in box["items"][0]["text"]


def _metric(name: str, **labels: str) -> float:
    total = 0.0
    for metric in REGISTRY.collect():
        for sample in metric.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def _text(message: Any) -> str:
    """The decoded text of a single-part e-mail."""
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    return body.decode()


async def test_the_owner_is_told_when_the_password_is_reset_or_changed(
    notify: ServiceUnderTest, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, _ = smtp
    for how in ("reset", "change"):
        await notify.publish(
            Envelope.wrap(
                ev.AccountPasswordChanged(
                    account_id=uuid.uuid4(), how=how, phone="0911222333",
                    email="bich@example.vn", full_name="Nguyễn Thị Bích", changed_at=NOW,
                ),
                source="intake",
            )
        )  # fmt: skip
    await settled(notify, 2 * 2)
    texts = [text for phone, text in sms(notify).sent if phone == "0911222333"]
    assert len(texts) == 2
    assert any("dat lai bang ma xac thuc" in t for t in texts)
    assert any("vua duoc thay doi" in t for t in texts)
    assert all(t.isascii() for t in texts)
    mails = mailbox.to("bich@example.vn")
    assert len(mails) == 2
    assert all("Mật khẩu" in m["Subject"] for m in mails)
    assert all("Nguyễn Thị Bích" in _text(m) for m in mails)


async def test_a_delivery_is_sent_once_committed_not_at_the_next_poll(
    start_notify: StartNotify,
) -> None:
    """The sender starts a pass when this process's consumer commits deliveries; its poll
    (here far longer than the wait below) is only for deliveries others make due."""
    notify = await start_notify(sender_poll_seconds=600)
    await notify.publish(otp_requested())
    await settled(notify, 1)
    assert any("482913" in text for _, text in sms(notify).sent)
