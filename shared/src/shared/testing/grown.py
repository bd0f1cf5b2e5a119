"""`catalogue.published` as a later release may write it: a field on agencies and on
procedures that no consumer has a column for. A consumer's projection that stores the
event's fields as they come fails on it, and the whole catalogue is retried, then parked.
Tests put `GrownCatalogue` in place of the contract's model in a service's handlers
(`grow`, before the service starts) and publish `grown_catalogue()`."""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any, TypeVar

import pytest
from sqlalchemy import Select

from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.contracts.envelope import EventData
from shared.testing.infra import eventually
from shared.testing.service import ServiceUnderTest

H = TypeVar("H")


class GrownAgency(ev.AgencyRef):
    phone: str


class GrownProcedure(ev.ProcedureTerms):
    legal_basis: str


class GrownCatalogue(ev.CataloguePublished):
    procedures: list[GrownProcedure]  # type: ignore[assignment]
    agencies: list[GrownAgency]  # type: ignore[assignment]


def grown_catalogue() -> GrownCatalogue:
    """Two agencies (a province, a district under it) and one procedure, each with a field
    the contract does not have today."""
    district = {"code": "G01.1", "name": "Công an huyện", "level": "district"}
    procedure = {"code": "1.004194", "name": "Đăng ký tạm trú", "field": "residence"}
    return GrownCatalogue(
        catalogue_version="grown",
        agencies=[
            GrownAgency(code="G01", name="Công an tỉnh", level="province", phone="0209"),
            GrownAgency(**district, parent_code="G01", phone="0209 1"),
        ],
        procedures=[
            GrownProcedure(
                **procedure, online_level="full", processing_days=3, legal_basis="Luật Cư trú"
            )
        ],
    )


def grow(monkeypatch: pytest.MonkeyPatch, handlers: MutableMapping[type[EventData], H]) -> None:
    """The service's handlers as built against the grown contract: the same handler of
    `catalogue.published`, given the grown model (undone after the test)."""
    contract: type[EventData] = ev.CataloguePublished
    grown: type[EventData] = GrownCatalogue
    handler = handlers[contract]
    monkeypatch.delitem(handlers, contract)
    monkeypatch.setitem(handlers, grown, handler)


async def published_and_kept(
    service: ServiceUnderTest, *queries: Select[Any]
) -> list[list[tuple[Any, ...]]]:
    """Publish `grown_catalogue()` to the started `service` through RabbitMQ and return the
    rows of each query once the first finds any (the catalogue applied)."""
    await service.publish(Envelope.wrap(grown_catalogue(), source="intake"))

    async def kept() -> list[list[tuple[Any, ...]]] | None:
        async with service.runtime.db.transaction() as session:
            found: Sequence[list[tuple[Any, ...]]] = [
                [tuple(row) for row in (await session.execute(query)).all()] for query in queries
            ]
        return list(found) if found[0] else None

    return await eventually(kept, timeout=30, what="the catalogue kept")
