"""A delivery's life: its statuses, what one attempt makes of it, when it is tried again,
what is announced once it is settled, and when an operator may send it again.

A channel says whether a failure is permanent (an invalid number, an address the server
refuses: trying again cannot help) or transient (a timeout, a busy server, a gateway
outage). Only a transient failure is retried, after an exponential back-off with a cap;
a permanent one is `failed` at once; a delivery out of attempts is `dead`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from shared.contracts import events as ev
from shared.errors import Conflict


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"


class AttemptOutcome(StrEnum):
    """What one attempt did: `retried` leaves the delivery pending for a later attempt."""

    SENT = "sent"
    RETRIED = "retried"
    FAILED = "failed"
    DEAD = "dead"


# An operator may send again only what will not be sent by itself.
RESENDABLE = frozenset({DeliveryStatus.FAILED, DeliveryStatus.DEAD})


class SendError(Exception):
    """A channel did not take the message; transient unless it says otherwise."""


class PermanentSendError(SendError):
    """Retrying will not help."""


class TransientSendError(SendError):
    """Worth another attempt later."""


@dataclass(frozen=True)
class Delivery:
    """One message to one recipient on one channel, as the sender takes it."""

    id: uuid.UUID
    event_id: uuid.UUID
    dossier_code: str | None
    channel: ev.Channel
    recipient: str
    template_key: str
    template_version: int
    subject: str | None
    body: str
    attempts: int
    # Attempts allowed in all; None: the policy's (an operator's resend raises it).
    attempt_limit: int | None = None
    # The correlation id of the event that called for it: its announcement's.
    correlation_id: str | None = None


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_seconds: float
    max_seconds: float

    def backoff(self, attempt: int) -> timedelta:
        """The wait after the `attempt`-th failure: base × 2^(attempt-1), capped."""
        seconds = self.base_seconds * 2 ** (attempt - 1)
        return timedelta(seconds=min(seconds, self.max_seconds))


@dataclass(frozen=True)
class Verdict:
    """What the `attempt`-th attempt makes of its delivery; `retry_in` when it is tried
    again."""

    attempt: int
    status: DeliveryStatus
    outcome: AttemptOutcome
    retry_in: timedelta | None = None


def after_attempt(policy: RetryPolicy, delivery: Delivery, error: SendError | None) -> Verdict:
    """The delivery's next status once this attempt ended with `error` (None: it was sent)."""
    attempt = delivery.attempts + 1
    if error is None:
        return Verdict(attempt, DeliveryStatus.SENT, AttemptOutcome.SENT)
    if isinstance(error, PermanentSendError):
        return Verdict(attempt, DeliveryStatus.FAILED, AttemptOutcome.FAILED)
    if attempt >= (delivery.attempt_limit or policy.max_attempts):
        return Verdict(attempt, DeliveryStatus.DEAD, AttemptOutcome.DEAD)
    return Verdict(attempt, DeliveryStatus.PENDING, AttemptOutcome.RETRIED, policy.backoff(attempt))


def announcement(
    delivery: Delivery, verdict: Verdict, now: datetime, error: SendError | None
) -> ev.EventData | None:
    """The event that tells the other services a delivery is settled (None while pending)."""
    if verdict.status is DeliveryStatus.PENDING:
        return None
    common = {
        "delivery_id": delivery.id,
        "source_event_id": delivery.event_id,
        "channel": delivery.channel,
        "template": delivery.template_key,
        "template_version": delivery.template_version,
        "dossier_code": delivery.dossier_code,
        "attempts": verdict.attempt,
    }
    if verdict.status is DeliveryStatus.SENT:
        return ev.NotificationSent(**common, sent_at=now)
    return ev.NotificationFailed(
        **common,
        permanent=verdict.status is DeliveryStatus.FAILED,
        error=type(error).__name__ if error else "",
    )


def resend_limit(status: DeliveryStatus, attempts: int, policy: RetryPolicy) -> int:
    """The attempt limit of a delivery an operator sends again: a fresh set of attempts."""
    if status not in RESENDABLE:
        raise Conflict("Chỉ gửi lại thông báo đã thất bại.", current_status=status)
    return attempts + policy.max_attempts
