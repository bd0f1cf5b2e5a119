"""The envelope every event travels in, and the base class of every event's `data`.

An event type is declared once, as a subclass of `EventData` with its routing key in
`event_type` and its schema `version`; `registry` maps `(type, version)` to classes, so
a consumer can turn an envelope back into the typed model it was made from, and a v2 of
an event can be declared and consumed beside its v1 while emitters move over.
"""

from __future__ import annotations

import builtins
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

EventKey = tuple[str, int]
"""`(type, version)`: what identifies the schema of an event's `data`."""

registry: dict[EventKey, type[EventData]] = {}

T = TypeVar("T", bound="EventData")


def sensitive(**kwargs: Any) -> Any:
    """A field carrying personal data or a secret: dropped by `Envelope.redacted()`.

    Such fields travel on the bus because a consumer needs them to act (notify needs
    the phone number and the one-time code); they must never reach logs, archives,
    metrics or public endpoints.
    """
    extra = kwargs.pop("json_schema_extra", {}) or {}
    return Field(json_schema_extra={**extra, "x-sensitive": True}, **kwargs)


class EventData(BaseModel):
    """Base of every event payload. Subclasses set `event_type` and `version`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str]
    version: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        event_type = cls.__dict__.get("event_type")
        if event_type is None:  # an abstract base shared by several event types
            return
        if cls.key() in registry:
            raise TypeError(f"event type {event_type!r} v{cls.version} is declared twice")
        registry[cls.key()] = cls

    @classmethod
    def key(cls) -> EventKey:
        return (cls.event_type, cls.version)

    @classmethod
    def sensitive_fields(cls) -> set[str]:
        return {
            name
            for name, field in cls.model_fields.items()
            if isinstance(field.json_schema_extra, dict)
            and field.json_schema_extra.get("x-sensitive")
        }


def latest(event_type: str) -> type[EventData] | None:
    """The newest declared version of an event type (what templates and docs describe)."""
    versions = [model for (t, _), model in registry.items() if t == event_type]
    return max(versions, key=lambda m: m.version, default=None)


class Envelope(BaseModel):
    """What is published on `dvc.events`; the routing key is `type`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: uuid.UUID = Field(description="Unique per event; the idempotency key of every consumer.")
    type: str = Field(description="Event type, also the routing key, e.g. dossier.submitted.")
    version: int = Field(description="Schema version of `data`.")
    source: str = Field(description="Name of the emitting service.")
    occurred_at: AwareDatetime
    dossier_code: str | None = None
    correlation_id: str | None = Field(None, description="The request that caused the event.")
    sequence: int | None = Field(
        None,
        description="Per dossier and emitting service, grows with every change, so that "
        "consumers can tell a newer event from an older one whatever the arrival order.",
    )
    data: dict[str, Any]

    @classmethod
    def wrap(
        cls,
        data: EventData,
        *,
        source: str,
        dossier_code: str | None = None,
        sequence: int | None = None,
        correlation_id: str | None = None,
        occurred_at: datetime | None = None,
        event_id: uuid.UUID | None = None,
    ) -> Envelope:
        return cls(
            id=event_id or uuid.uuid4(),
            type=data.event_type,
            version=data.version,
            source=source,
            occurred_at=occurred_at or datetime.now(UTC),
            dossier_code=dossier_code,
            correlation_id=correlation_id,
            sequence=sequence,
            data=data.model_dump(mode="json"),
        )

    @property
    def key(self) -> EventKey:
        return (self.type, self.version)

    def payload(self) -> EventData:
        """The typed model of `data` (raises KeyError for an unknown type or version)."""
        return registry[self.key].model_validate(self.data)

    def payload_as(self, model: builtins.type[T]) -> T:
        if model.key() != self.key:
            raise TypeError(f"envelope holds {self.key}, not {model.key()}")
        return model.model_validate(self.data)

    def redacted(self) -> Envelope:
        """A copy without the fields marked sensitive, fit for archives and logs."""
        model = registry.get(self.key)
        hidden = model.sensitive_fields() if model else set()
        return self.model_copy(
            update={"data": {k: v for k, v in self.data.items() if k not in hidden}}
        )
