"""What notify's use cases need, built once per process by bootstrap."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

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
    # Set once deliveries this process added are committed: the sender starts its pass
    # then, instead of at its next poll (which is for the deliveries others make due).
    deliveries_added: asyncio.Event = field(default_factory=asyncio.Event)
