"""Who hears about which event, by which channel, and what a template may say.

Citizens are told by the channels they chose at submission (`recipient.channels`); the
one-time code of a new account goes by SMS only; due-soon and overdue go to the officers
the event names; the supplement reminder and a stop go to the citizen. Events that change
nothing a person must act on are not sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.contracts.envelope import EventData, latest
from shared.localtime import local_date, local_moment

# The events that produce messages: those notify subscribes to (shared/messaging/topology.py).
NOTIFIED: tuple[type[EventData], ...] = (
    ev.AccountOtpRequested,
    ev.AccountRegistrationAttempted,
    ev.AccountPasswordChanged,
    ev.DossierSubmitted,
    ev.DossierRegistered,
    ev.DossierReceived,
    ev.DossierSupplementRequested,
    ev.DossierRejected,
    ev.DossierAwaitingFee,
    ev.DossierResultReady,
    ev.DossierReturned,
    ev.DossierDeadlineExtended,
    ev.DossierResumed,
    ev.DossierWithdrawn,
    ev.DossierDueSoon,
    ev.DossierOverdue,
    ev.DossierSupplementDueSoon,
    ev.DossierStopped,
)
DELIVERY = {
    "in_person": "nhận trực tiếp tại Bộ phận Một cửa, mang theo bản chính giấy tờ để đối chiếu",
    "post": "gửi qua dịch vụ bưu chính công ích đến địa chỉ đã đăng ký",
    "online": "nhận bản điện tử trên Cổng dịch vụ công",
}
# Computed for templates beside the event's own fields, per event type.
COMMON = {"code", "name", "procedure_name", "agency_name"}
EXTRAS: dict[str, set[str]] = {
    "account.otp_requested": {"minutes"},
    "account.registration_attempted": set(),
    "account.password_changed": {"changed_moment"},
    "dossier.submitted": {"submitted_date"},
    "dossier.registered": {"submitted_date"},
    "dossier.received": {"due_date"},
    "dossier.supplement_requested": {"items_text", "supplement_due_date"},
    "dossier.rejected": set(),
    "dossier.awaiting_fee": {"amount_text"},
    "dossier.result_ready": {"delivery_text"},
    "dossier.returned": set(),
    "dossier.deadline_extended": {"new_due_date", "original_due_date"},
    "dossier.resumed": {"due_date", "previous_due_date"},
    "dossier.withdrawn": set(),
    "dossier.due_soon": {"due_date"},
    "dossier.overdue": {"due_date"},
    "dossier.supplement_due_soon": {"supplement_due_date"},
    "dossier.stopped": set(),
}
# Free text a too-long SMS may shorten (never the code or dates).
FREE_TEXT = ("items_text", "reason", "note")


@dataclass(frozen=True)
class Target:
    channel: ev.Channel
    address: str
    name: str


def allowed_variables(event_type: str) -> set[str]:
    """What a template of `event_type` may use."""
    model = latest(event_type)
    if model is None or event_type not in EXTRAS:
        return set()
    return set(model.model_fields) | COMMON | EXTRAS[event_type]


def targets(data: EventData) -> list[Target]:
    """Who is told, by which channel."""
    match data:
        case ev.AccountOtpRequested() | ev.AccountRegistrationAttempted():
            return [Target(ev.Channel.SMS, data.phone, "")]
        case ev.AccountPasswordChanged():
            told = [Target(ev.Channel.SMS, data.phone, data.full_name)]
            if data.email:
                told.append(Target(ev.Channel.EMAIL, data.email, data.full_name))
            return told
        case ev.DossierDueSoon() | ev.DossierOverdue():
            return [t for r in data.officer_contacts for t in _by_channel(r)]
        case ev.DossierResumed() if data.previous_due_at in (None, data.due_at):
            # The appointment stands (or was never given): nothing the citizen must know.
            return []
        case ev.DossierSubmitted() | ev.DossierWithdrawn() | ev.WorkflowDossierEvent():
            return _by_channel(data.recipient) if data.recipient else []
    return []


def _by_channel(recipient: ev.Recipient) -> list[Target]:
    found = []
    for channel in recipient.channels:
        address = recipient.phone if channel is ev.Channel.SMS else recipient.email
        if address:
            found.append(Target(channel, address, recipient.full_name))
    return found


def variables(envelope: Envelope, data: EventData, target: Target) -> dict[str, Any]:
    """The values a template of this event is rendered with."""
    values: dict[str, Any] = {
        **{name: getattr(data, name) for name in type(data).model_fields},
        "code": envelope.dossier_code or "",
        "name": target.name,
        "procedure_name": getattr(data, "procedure_name", ""),
        "agency_name": getattr(data, "agency_name", ""),
    }
    match data:
        case ev.AccountOtpRequested():
            values["minutes"] = max(1, round((data.expires_at - envelope.occurred_at).seconds / 60))
        case ev.AccountPasswordChanged():
            values["changed_moment"] = local_moment(data.changed_at)
        case ev.DossierSubmitted():
            values["submitted_date"] = local_moment(data.submitted_at)
        case ev.DossierSupplementRequested():
            values["items_text"] = "; ".join(
                f"{n}. {item.description}" for n, item in enumerate(data.items, 1)
            )
            values["supplement_due_date"] = local_date(data.supplement_due_at)
        case ev.DossierSupplementDueSoon():
            # The day and hour: one working day is left, the hour matters.
            values["supplement_due_date"] = local_moment(data.supplement_due_at)
        case ev.DossierAwaitingFee():
            # 1.200.000 đồng, as amounts are written in Vietnamese.
            values["amount_text"] = f"{data.amount_vnd:,} đồng".replace(",", ".")
        case ev.DossierResultReady():
            method = data.delivery.method if data.delivery else "in_person"
            values["delivery_text"] = DELIVERY[method]
        case ev.DossierDeadlineExtended():
            values["new_due_date"] = local_date(data.new_due_at)
            values["original_due_date"] = local_date(data.original_due_at)
        case ev.DossierResumed():
            values["previous_due_date"] = local_moment(data.previous_due_at)
    if isinstance(data, ev.WorkflowDossierEvent) and "due_date" in EXTRAS[envelope.type]:
        values["due_date"] = local_moment(data.due_at)
    return values
