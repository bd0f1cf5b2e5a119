"""Every service's handlers agree with its subscriptions, as the runtime checks at start."""

from __future__ import annotations

from typing import Any

import pytest

from intake.bootstrap import build as intake
from notify.bootstrap import build as notify
from shared.messaging import Batched
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
        # One event: (ctx, session, envelope, data); a run of events: (ctx, session, events).
        function, arity = (handler.apply, 3) if isinstance(handler, Batched) else (handler, 4)
        names = list(function.__code__.co_varnames[: function.__code__.co_argcount])
        assert len(names) == arity, f"{model.__name__}: {function.__name__}{names}"
