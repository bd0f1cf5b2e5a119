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
from shared.contracts.envelope import Envelope, EventData, EventKey, registry

EXCHANGE = "dvc.events"


def _published() -> dict[EventKey, type[EventData]]:
    """The system's event types (tests may register their own, which are not published)."""
    return {k: m for k, m in sorted(registry.items()) if m.__module__ == _events.__name__}


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
    for (event_type, version), model in published.items():
        # One channel per routing key; one message per schema version travelling on it.
        name = event_type.replace(".", "_")
        message = name if version == 1 else f"{name}_v{version}"
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
        messages[message] = {
            "name": event_type,
            "title": event_type,
            "summary": (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else "",
            "contentType": "application/json",
            "payload": payload,
        }
        channel = channels.setdefault(
            name,
            {
                "address": event_type,
                "messages": {},
                "bindings": {
                    "amqp": {
                        "is": "routingKey",
                        "exchange": {"name": EXCHANGE, "type": "topic", "durable": True},
                    }
                },
            },
        )
        channel["messages"][message] = {"$ref": f"#/components/messages/{message}"}
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
