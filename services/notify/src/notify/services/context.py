"""What notify's use cases need, built once in bootstrap."""

from __future__ import annotations

from dataclasses import dataclass

from notify.adapters.channels import EmailSender, SmsProvider
from notify.config import NotifySettings
from shared.db import Database
from shared.messaging import Outbox
from shared.security import RemoteTokenVerifier


@dataclass(frozen=True)
class Context:
    settings: NotifySettings
    db: Database
    outbox: Outbox
    email: EmailSender
    sms: SmsProvider
    officers: RemoteTokenVerifier
