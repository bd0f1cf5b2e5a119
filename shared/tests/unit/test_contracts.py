"""The event contracts: every type of the architecture exists, envelopes round-trip,
sensitive fields stay out of redacted copies, and the published AsyncAPI is current."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.contracts import Envelope, events, registry
from shared.contracts.asyncapi import render

NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)

# The event types named in ARCHITECTURE.md's service table.
ARCHITECTURE_TYPES = {
    "dossier.submitted", "dossier.supplemented", "dossier.withdrawn", "account.otp_requested",
    "account.registration_attempted", "feedback.submitted", "payment.completed", "dossier.received",
    "dossier.supplement_requested", "dossier.rejected", "dossier.assigned", "dossier.approved",
    "dossier.result_ready", "dossier.returned", "dossier.deadline_extended", "dossier.due_soon",
    "dossier.overdue", "notification.sent", "notification.failed",
}  # fmt: skip


def submitted() -> events.DossierSubmitted:
    return events.DossierSubmitted(
        procedure_code="1.004194",
        procedure_name="Đăng ký tạm trú",
        field="residence",
        agency_code="G01.308.000.000",
        agency_name="Công an tỉnh Bắc Kạn",
        status=events.DossierStatus.SUBMITTED,
        dossier_id=uuid.uuid4(),
        online_level="full",
        submitted_at=NOW,
        applicant=events.Applicant(
            kind="citizen", full_name="Nguyễn Văn A", id_number="001099012345"
        ),
        form={"address": "Số 1 Trần Hưng Đạo"},
        attachments=[],
        result_delivery=events.ResultDelivery(method="online"),
        recipient=events.Recipient(full_name="Nguyễn Văn A", phone="0912345678", channels=["sms"]),
        update_code="K7P2QX",
    )


def test_every_architecture_event_type_has_a_model() -> None:
    assert {event_type for event_type, _ in registry} >= ARCHITECTURE_TYPES


def test_envelope_round_trips_through_json_to_the_typed_model() -> None:
    data = submitted()
    envelope = Envelope.wrap(
        data, source="intake", dossier_code="G01.308.000.000-261123-0001", sequence=1
    )
    again = Envelope.model_validate_json(envelope.model_dump_json())
    assert again == envelope
    assert again.payload() == data
    assert again.payload_as(events.DossierSubmitted).update_code == "K7P2QX"


def test_payload_as_refuses_another_type() -> None:
    envelope = Envelope.wrap(submitted(), source="intake")
    with pytest.raises(TypeError):
        envelope.payload_as(events.DossierReceived)


def test_redacted_copy_has_no_personal_data_or_secrets() -> None:
    envelope = Envelope.wrap(submitted(), source="intake")
    text = envelope.redacted().model_dump_json()
    for secret in ("001099012345", "0912345678", "K7P2QX", "Nguyễn Văn A", "Trần Hưng Đạo"):
        assert secret not in text
    assert "Đăng ký tạm trú" in text  # the facts stats needs remain


def test_unknown_fields_and_bad_values_are_refused() -> None:
    with pytest.raises(ValidationError):
        events.FeedbackSubmitted(
            procedure_code="1.004194", agency_code="G01", rating=6, submitted_at=NOW
        )
    with pytest.raises(ValidationError):
        Envelope.model_validate({**Envelope.wrap(submitted(), source="x").model_dump(), "extra": 1})


def test_published_asyncapi_document_matches_the_models() -> None:
    published = Path(__file__).resolve().parents[3] / "docs" / "asyncapi.json"
    assert json.loads(published.read_text()) == json.loads(render()), (
        "docs/asyncapi.json is stale: run `make asyncapi`"
    )
    assert set(json.loads(render())["channels"]) == {
        t.replace(".", "_") for t in ARCHITECTURE_TYPES
    } | {
        "dossier_submitted_for_approval",
        "dossier_sent_back",
        "catalogue_published",
        "dossier_resumed",
        "dossier_stopped",
        "account_password_changed",
        "dossier_supplement_due_soon",
        "dossier_awaiting_fee",
        "dossier_sync_queued",
        "dossier_synced",
        "dossier_registered",
        "calendar_published",
    }
