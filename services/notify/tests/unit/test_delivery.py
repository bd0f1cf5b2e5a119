"""What an attempt makes of a delivery, when it is tried again, what is announced, and
when an operator may send it again: pure rules, nothing running."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from notify.domain.delivery import (
    AttemptOutcome,
    Delivery,
    DeliveryStatus,
    PermanentSendError,
    RetryPolicy,
    SendError,
    TransientSendError,
    after_attempt,
    announcement,
    resend_limit,
)
from shared.contracts import events as ev
from shared.errors import Conflict

POLICY = RetryPolicy(max_attempts=3, base_seconds=30, max_seconds=100)
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def delivery(attempts: int = 0, attempt_limit: int | None = None) -> Delivery:
    return Delivery(
        id=uuid.uuid4(), event_id=uuid.uuid4(), dossier_code="G01-0001",
        channel=ev.Channel.SMS, recipient="0912345678", template_key="dossier.received.sms",
        template_version=2, subject=None, body="Ho so G01-0001", attempts=attempts,
        attempt_limit=attempt_limit,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("attempt", "wait"),
    [
        (3, 100),  # 120 s capped
        (60, 100),  # far past the cap, no overflow
        (1, 30),
        (2, 60),
    ],
)
def test_the_back_off_doubles_up_to_its_cap(attempt: int, wait: float) -> None:
    assert POLICY.backoff(attempt) == timedelta(seconds=wait)


@pytest.mark.parametrize(
    ("attempts", "limit", "error", "status", "outcome", "retry_in"),
    [
        # A permanent failure is final even with attempts left, and is not "dead".
        (0, None, PermanentSendError("unknown subscriber"), "failed", "failed", None),
        (2, None, PermanentSendError("refused"), "failed", "failed", None),
        # The last allowed attempt: a transient failure makes the delivery dead.
        (2, None, TransientSendError("gateway 503"), "dead", "dead", None),
        # A resend raised the limit: the same attempt number is retried.
        (5, 9, TransientSendError("gateway 503"), "pending", "retried", 100),
        (8, 9, TransientSendError("gateway 503"), "dead", "dead", None),
        # A failure of no declared kind is worth another attempt.
        (0, None, SendError("odd"), "pending", "retried", 30),
        # Sent on the very last attempt is sent.
        (2, None, None, "sent", "sent", None),
        (0, None, TransientSendError("timed out"), "pending", "retried", 30),
        (1, None, TransientSendError("timed out"), "pending", "retried", 60),
        (0, None, None, "sent", "sent", None),
    ],
)
def test_an_attempt_settles_the_delivery_or_schedules_the_next(
    attempts: int,
    limit: int | None,
    error: SendError | None,
    status: str,
    outcome: str,
    retry_in: float | None,
) -> None:
    verdict = after_attempt(POLICY, delivery(attempts, limit), error)
    assert verdict.attempt == attempts + 1
    assert (verdict.status, verdict.outcome) == (DeliveryStatus(status), AttemptOutcome(outcome))
    assert verdict.retry_in == (None if retry_in is None else timedelta(seconds=retry_in))


def test_only_a_settled_delivery_is_announced() -> None:
    tried = delivery(attempts=1)
    transient = TransientSendError("gateway 503")
    permanent = PermanentSendError("unknown subscriber")

    assert announcement(tried, after_attempt(POLICY, tried, transient), NOW, transient) is None

    dead = announcement(tried, after_attempt(POLICY, delivery(2), transient), NOW, transient)
    assert isinstance(dead, ev.NotificationFailed)
    assert (dead.permanent, dead.error, dead.attempts) == (False, "TransientSendError", 3)

    failed = announcement(tried, after_attempt(POLICY, tried, permanent), NOW, permanent)
    assert isinstance(failed, ev.NotificationFailed)
    assert (failed.permanent, failed.error, failed.attempts) == (True, "PermanentSendError", 2)

    sent = announcement(tried, after_attempt(POLICY, tried, None), NOW, None)
    assert isinstance(sent, ev.NotificationSent)
    assert (sent.sent_at, sent.attempts) == (NOW, 2)
    assert (sent.delivery_id, sent.source_event_id) == (tried.id, tried.event_id)
    assert (sent.template, sent.template_version, sent.dossier_code) == (
        "dossier.received.sms", 2, "G01-0001",
    )  # fmt: skip


@pytest.mark.parametrize("status", [DeliveryStatus.PENDING, DeliveryStatus.SENT])
def test_what_will_go_or_went_cannot_be_sent_again(status: DeliveryStatus) -> None:
    with pytest.raises(Conflict) as refused:
        resend_limit(status, 1, POLICY)
    assert refused.value.extensions == {"current_status": status}


@pytest.mark.parametrize(
    ("status", "attempts", "limit"),
    [(DeliveryStatus.DEAD, 3, 6), (DeliveryStatus.FAILED, 1, 4), (DeliveryStatus.DEAD, 6, 9)],
)
def test_a_resend_gives_a_fresh_set_of_attempts(
    status: DeliveryStatus, attempts: int, limit: int
) -> None:
    assert resend_limit(status, attempts, POLICY) == limit
