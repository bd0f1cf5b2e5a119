"""What notify's use cases need, built once per process by bootstrap."""

from __future__ import annotations

from dataclasses import dataclass

from notify.adapters.channels import EmailSender, SmsProvider
from notify.config import NotifySettings
from notify.domain.delivery import RetryPolicy
from shared.runtime import Resources
from shared.security import RemoteTokenVerifier


@dataclass(frozen=True)
class Context(Resources[NotifySettings]):
    email: EmailSender
    sms: SmsProvider
    officers: RemoteTokenVerifier
    retry: RetryPolicy
