"""What operators may read of a message: pure rules, nothing running."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from notify.domain.cursor import cursor_after, position
from notify.domain.privacy import mask, shown_address, shown_body
from shared.contracts import events as ev
from shared.errors import BadRequest

# Fixed, not random: the parameters name the tests, the same in every pytest worker.
ANY_ID = uuid.UUID("5b0e3c1a-7d2f-4e8a-9c61-2f4b8d0e7a13")
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("", "****"),
        ("1234", "****"),  # too short to show any of it
        ("12345", "12*45"),
        ("@example.vn", "***@example.vn"),
        ("bich@", "***"),
        ("a@b@example.vn", "a***@b@example.vn"),
        ("+84912345678", "+8********78"),
        ("0912345678", "09******78"),
        ("bich@example.vn", "b***@example.vn"),
    ],
)
def test_an_operator_who_is_not_an_admin_sees_addresses_masked(address: str, masked: str) -> None:
    assert mask(address) == masked
    assert shown_address(address, full=False) == masked


@pytest.mark.parametrize("address", ["0912345678", "bich@example.vn", ""])
def test_an_admin_sees_addresses_in_full(address: str) -> None:
    assert shown_address(address, full=True) == address


def test_a_one_time_code_is_never_shown() -> None:
    otp = ev.AccountOtpRequested(
        account_id=uuid.uuid4(), purpose="register", phone="0911222333", otp="482913",
        expires_at=NOW + timedelta(minutes=5),
    )  # fmt: skip
    assert (
        shown_body(otp, "Ma 482913. Nhap 482913 de xac thuc")
        == "Ma ******. Nhap ****** de xac thuc"
    )
    sent = ev.NotificationSent(
        delivery_id=uuid.uuid4(), source_event_id=uuid.uuid4(), channel=ev.Channel.SMS,
        template="dossier.received.sms", template_version=1, attempts=1, sent_at=NOW,
    )  # fmt: skip
    # Only a one-time code is hidden: the same digits elsewhere are a dossier's business.
    assert shown_body(sent, "Ho so 482913 da tiep nhan") == "Ho so 482913 da tiep nhan"


def _encoded(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "zz",
        "!!!!",
        _encoded({"at": NOW.isoformat(), "id": str(ANY_ID)}),
        _encoded([NOW.isoformat(), str(ANY_ID), "extra"]),
        _encoded([NOW.isoformat(), 5]),
        _encoded([5, str(ANY_ID)]),
        _encoded(["yesterday", str(ANY_ID)]),
        _encoded([NOW.isoformat(), "not-a-uuid"]),
        _encoded(7),
    ],
)
def test_a_cursor_the_list_did_not_hand_out_is_refused(cursor: str) -> None:
    with pytest.raises(BadRequest):
        position(cursor)


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 12, 1, 9, 30, 0, 123456, tzinfo=timezone(timedelta(hours=7))),
        NOW,
    ],
)
def test_a_cursor_gives_back_the_position_it_was_made_from(at: datetime) -> None:
    delivery_id = uuid.uuid4()
    cursor = cursor_after(at, delivery_id)
    assert "=" not in cursor
    assert position(cursor) == (at, delivery_id)
