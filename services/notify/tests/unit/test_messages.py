"""Who is told about which event, and by which channel: pure rules, nothing running."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from notify.domain.messages import Target, targets, variables
from notify.domain.templates import problems, render, sms_text
from notify.services.templates import defaults
from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.contracts.envelope import EventData

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
SMS, EMAIL = ev.Channel.SMS, ev.Channel.EMAIL
DOSSIER = {
    "procedure_code": "1.004194", "procedure_name": "Đăng ký tạm trú", "field": "residence",
    "agency_code": "G01.306.000.000", "agency_name": "Công an tỉnh Bắc Kạn",
    "status": ev.DossierStatus.IN_PROGRESS, "actor": ev.Actor(kind="timer"),
}  # fmt: skip


def citizen(*channels: ev.Channel, phone: str | None = "0912345678",
            email: str | None = "bich@example.vn") -> ev.Recipient:  # fmt: skip
    return ev.Recipient(full_name="Nguyễn Thị Bích", phone=phone, email=email,
                        channels=list(channels))  # fmt: skip


def rejected(recipient: ev.Recipient | None) -> EventData:
    return ev.DossierRejected(**DOSSIER, reason="Ngoài địa bàn", rejected_at=NOW, stage="intake",
                              recipient=recipient)  # fmt: skip


def resumed(previous: datetime | None, due: datetime | None) -> EventData:
    return ev.DossierResumed(**DOSSIER, round=1, resumed_at=NOW, paused_working_hours=3,
                             previous_due_at=previous, due_at=due,
                             recipient=citizen(SMS, EMAIL))  # fmt: skip


OFFICERS = [
    ev.Recipient(full_name="Nông Văn Minh", phone="0987654321", email="minh@example.vn",
                 channels=[EMAIL, SMS]),
    ev.Recipient(full_name="Lý Thu Hà", email="ha@example.vn", channels=[SMS, EMAIL]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # A channel chosen without an address to send to is passed over, not an error.
        (rejected(citizen(SMS, EMAIL, phone=None)), [(EMAIL, "bich@example.vn")]),
        (rejected(citizen(EMAIL, email=None)), []),
        # An address the citizen did not choose to be told at is not used.
        (rejected(citizen(SMS)), [(SMS, "0912345678")]),
        (rejected(citizen()), []),
        (rejected(None), []),
        # Officers are told on their own channels, in their order; one without a phone by
        # email only.
        (
            ev.DossierOverdue(**DOSSIER, officer_contacts=OFFICERS),
            [(EMAIL, "minh@example.vn"), (SMS, "0987654321"), (EMAIL, "ha@example.vn")],
        ),
        (ev.DossierDueSoon(**DOSSIER, working_hours_left=6), []),
        # The one-time code goes by SMS to the number given, whatever else.
        (
            ev.AccountOtpRequested(account_id=uuid.uuid4(), purpose="register",
                                   phone="0911222333", otp="482913",
                                   expires_at=NOW + timedelta(minutes=5)),
            [(SMS, "0911222333")],
        ),
        # The owner of an account someone tried to register again, on the verified phone.
        (
            ev.AccountRegistrationAttempted(account_id=uuid.uuid4(), phone="0911222333",
                                            attempted_at=NOW),
            [(SMS, "0911222333")],
        ),
        (
            ev.DossierWithdrawn(**{k: v for k, v in DOSSIER.items() if k != "actor"},
                                dossier_id=uuid.uuid4(), reason="Không cần nữa",
                                withdrawn_at=NOW, recipient=citizen(EMAIL, SMS)),
            [(EMAIL, "bich@example.vn"), (SMS, "0912345678")],
        ),
        (rejected(citizen(SMS, EMAIL)), [(SMS, "0912345678"), (EMAIL, "bich@example.vn")]),
        # After a supplement the citizen hears of the moved appointment, and only if it moved.
        (
            resumed(NOW + timedelta(days=3), NOW + timedelta(days=4)),
            [(SMS, "0912345678"), (EMAIL, "bich@example.vn")],
        ),
        (resumed(NOW + timedelta(days=3), NOW + timedelta(days=3)), []),
        (resumed(None, NOW + timedelta(days=3)), []),
    ],
)  # fmt: skip
def test_each_event_goes_to_its_people_on_the_channels_they_chose(
    data: EventData, expected: list[tuple[ev.Channel, str]]
) -> None:
    assert [(t.channel, t.address) for t in targets(data)] == expected


def test_a_citizen_is_addressed_by_name_and_an_otp_by_nobody() -> None:
    assert targets(rejected(citizen(SMS))) == [Target(SMS, "0912345678", "Nguyễn Thị Bích")]
    otp = ev.AccountOtpRequested(account_id=uuid.uuid4(), purpose="register", phone="0911222333",
                                 otp="482913", expires_at=NOW)  # fmt: skip
    assert targets(otp)[0].name == ""


def _envelope(data: EventData) -> Envelope:
    return Envelope.wrap(data, source="workflow", dossier_code="G01.306.000.000-250317-0001")


def test_every_shipped_template_passes_the_checks_of_an_edited_one() -> None:
    for key, template in defaults().items():
        assert problems(key, template["subject"], template["body"], 3) == [], key


def test_the_citizen_is_reminded_of_the_supplement_deadline_with_its_hour() -> None:
    deadline = datetime(2025, 3, 24, 10, 0, tzinfo=UTC)  # 17:00 in Vietnam
    data = ev.DossierSupplementDueSoon(
        **{**DOSSIER, "status": ev.DossierStatus.SUPPLEMENT_REQUESTED}, round=1,
        supplement_due_at=deadline, working_hours_left=8, recipient=citizen(SMS, EMAIL),
    )  # fmt: skip
    assert [t.channel for t in targets(data)] == [SMS, EMAIL]
    sms, email = targets(data)
    shipped = defaults()
    text = sms_text(
        shipped["dossier.supplement_due_soon.sms"]["body"], variables(_envelope(data), data, sms), 3
    )
    assert "G01.306.000.000-250317-0001" in text
    assert "17:00 ngay 24/03/2025" in text
    body = render(
        shipped["dossier.supplement_due_soon.email"]["body"],
        variables(_envelope(data), data, email),
    )
    assert "Kính gửi Nguyễn Thị Bích" in body
    assert "17:00 ngày 24/03/2025" in body


def test_a_stopped_dossier_is_announced_to_the_citizen_with_the_reason() -> None:
    data = ev.DossierStopped(
        **{**DOSSIER, "status": ev.DossierStatus.STOPPED},
        reason="Quá thời hạn bổ sung, hoàn thiện hồ sơ mà công dân chưa bổ sung",
        stopped_at=NOW, recipient=citizen(SMS),
    )  # fmt: skip
    (sms,) = targets(data)
    text = sms_text(
        defaults()["dossier.stopped.sms"]["body"], variables(_envelope(data), data, sms), 3
    )
    assert text.startswith("Ho so G01.306.000.000-250317-0001 bi dung giai quyet")
    assert "Qua thoi han bo sung" in text


def test_a_dossier_awaiting_its_fee_tells_the_citizen_the_amount_to_pay_at_the_desk() -> None:
    data = ev.DossierAwaitingFee(
        **{**DOSSIER, "status": ev.DossierStatus.AWAITING_FEE}, amount_vnd=1_200_000,
        awaiting_since=NOW, recipient=citizen(SMS, EMAIL),
    )  # fmt: skip
    sms, email = targets(data)
    shipped = defaults()
    text = sms_text(
        shipped["dossier.awaiting_fee.sms"]["body"], variables(_envelope(data), data, sms), 3
    )
    assert text.startswith("Ho so G01.306.000.000-250317-0001 da duoc phe duyet")
    assert "1.200.000 dong" in text
    body = render(
        shipped["dossier.awaiting_fee.email"]["body"], variables(_envelope(data), data, email)
    )
    assert "nộp phí, lệ phí 1.200.000 đồng tại Bộ phận Một cửa" in body


def test_the_national_portal_sync_events_do_not_reach_notify() -> None:
    """They tell no one: notify's queue is not bound for them, so the broker does not keep
    them for it and notify spends no transaction on them."""
    from notify.consumers import HANDLERS
    from notify.services.inbound import notify
    from shared.messaging.topology import SUBSCRIPTIONS, routes

    for model in (ev.DossierSyncQueued, ev.DossierSynced):
        assert not any(routes(key, model.event_type) for key in SUBSCRIPTIONS["notify"])
        assert model not in HANDLERS
    assert HANDLERS[ev.DossierAwaitingFee] is notify


@pytest.mark.parametrize(
    ("channel", "said"), [("in_person", "tai Bo phan Mot cua"), ("post", "qua buu chinh")]
)
def test_a_desk_receipt_tells_the_code_and_update_code_to_the_contact_given(
    channel: str, said: str
) -> None:
    data = ev.DossierRegistered(
        **{k: v for k, v in DOSSIER.items() if k not in ("actor", "status")},
        status=ev.DossierStatus.SUBMITTED, dossier_id=uuid.uuid4(), online_level="full",
        submitted_at=NOW, applicant=ev.Applicant(kind="citizen", full_name="Hà Văn Tùng"), form={},
        attachments=[], result_delivery=ev.ResultDelivery(method="in_person"),
        recipient=ev.Recipient(full_name="Hà Văn Tùng", phone="0987654321",
                               email="tung@example.vn", channels=[SMS, EMAIL]),
        update_code="K7M2P9QX", channel=channel,
        registered_by=ev.Actor(kind="officer", id="o1", name="Hoàng Thị Lan", role="receiver"),
    )  # fmt: skip
    sms, email = targets(data)
    assert (sms.address, email.address) == ("0987654321", "tung@example.vn")
    shipped = defaults()
    text = sms_text(
        shipped["dossier.registered.sms"]["body"], variables(_envelope(data), data, sms), 3
    )
    assert "G01.306.000.000-250317-0001" in text
    assert "K7M2P9QX" in text
    assert said in text
    body = render(
        shipped["dossier.registered.email"]["body"], variables(_envelope(data), data, email)
    )
    assert "Kính gửi Hà Văn Tùng" in body
    assert "K7M2P9QX" in body
