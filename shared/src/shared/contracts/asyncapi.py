"""The AsyncAPI 3 document of every event, generated from the pydantic models.

`python -m shared.contracts.asyncapi > docs/asyncapi.json` rewrites the published copy;
a test fails when the copy no longer matches the models.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.contracts import events as _events
from shared.contracts.envelope import Envelope, EventData, registry

EXCHANGE = "dvc.events"


def _published() -> dict[str, type[EventData]]:
    """The system's event types (tests may register their own, which are not published)."""
    return {t: m for t, m in sorted(registry.items()) if m.__module__ == _events.__name__}


def build() -> dict[str, Any]:
    published = _published()
    models: list[type[BaseModel]] = [*published.values(), Envelope]
    _, schema = models_json_schema(
        [(m, "validation") for m in models],
        ref_template="#/components/schemas/{model}",
    )
    components: dict[str, Any] = dict(schema.get("$defs", {}))
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for event_type, model in published.items():
        name = event_type.replace(".", "_")
        payload = {
            "allOf": [
                {"$ref": "#/components/schemas/Envelope"},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": event_type},
                        "version": {"const": model.version},
                        "data": {"$ref": f"#/components/schemas/{model.__name__}"},
                    },
                },
            ]
        }
        messages[name] = {
            "name": event_type,
            "title": event_type,
            "summary": (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else "",
            "contentType": "application/json",
            "payload": payload,
        }
        channels[name] = {
            "address": event_type,
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "bindings": {
                "amqp": {
                    "is": "routingKey",
                    "exchange": {"name": EXCHANGE, "type": "topic", "durable": True},
                }
            },
        }
        operations[f"publish_{name}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{name}"},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Public-service portal events",
            "version": "1.0.0",
            "description": "Events on the topic exchange dvc.events; routing key = event type.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"schemas": components, "messages": messages},
    }


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
