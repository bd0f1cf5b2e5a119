"""No part of a request runs in the thread pool: FastAPI runs a synchronous endpoint or
dependency on a worker thread, and the hop costs more CPU than what most of ours do
(reading a header, the context). Each one must be a coroutine function."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from intake.bootstrap import build
from intake.config import IntakeSettings
from shared.runtime import Role, Runtime, create_app


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _routes(routes: Any) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (included := getattr(route, "original_router", None)) is not None:
            yield from _routes(included.routes)  # an included router, as FastAPI keeps it


def _is_async(call: Any) -> bool:
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(
        getattr(call, "__call__", None)  # noqa: B004 - a callable instance (HTTPBearer)
    )


def test_every_endpoint_and_dependency_of_intake_is_a_coroutine() -> None:
    app = create_app(Runtime(build(IntakeSettings())), {Role.API})
    sync = set()
    routes = list(_routes(app.routes))
    assert any(r.path.endswith("/dossiers") for r in routes)
    for route in routes:
        if not _is_async(route.endpoint):
            sync.add(f"{route.path}: the endpoint")
        for call in _calls(route.dependant):
            if call is not None and not _is_async(call):
                sync.add(f"{route.path}: {getattr(call, '__qualname__', call)}")
    assert not sync, sorted(sync)
