"""Every service's handlers agree with its subscriptions, as the runtime checks at start."""

from __future__ import annotations

from typing import Any

import pytest

from intake.bootstrap import build as intake
from notify.bootstrap import build as notify
from shared.messaging.topology import SUBSCRIPTIONS, wiring_errors
from shared.runtime import ServiceDefinition
from stats.bootstrap import build as stats
from workflow.bootstrap import build as workflow


@pytest.mark.parametrize("build", [intake, workflow, notify, stats], ids=lambda b: b.__module__)
def test_handlers_and_subscriptions_agree(build: Any) -> None:
    definition: ServiceDefinition[Any] = build()
    assert definition.name in SUBSCRIPTIONS
    assert wiring_errors(definition.name, definition.handlers, SUBSCRIPTIONS) == []


@pytest.mark.parametrize("build", [intake, workflow, notify, stats], ids=lambda b: b.__module__)
def test_every_handler_takes_the_context_first(build: Any) -> None:
    definition: ServiceDefinition[Any] = build()
    for model, handler in definition.handlers.items():
        names = list(handler.__code__.co_varnames[: handler.__code__.co_argcount])
        assert len(names) == 4, f"{model.__name__}: {handler.__name__}{names}"
