"""Which deliveries an officer may read or resend.

An officer reads the deliveries of their own agency's dossiers; an admin also those of
every agency under theirs (the tree of `catalogue.published`). A delivery of no dossier
(an account's one-time code, masked) belongs to no agency: only the admins of the units
that run notify (`NOTIFY_OPERATOR_AGENCIES`) read it, as they resend what failed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select

from notify.adapters.tables import agencies, deliveries
from notify.services.context import Context


@dataclass(frozen=True)
class Reader:
    """The signed-in officer, as far as reading deliveries goes."""

    agency_code: str
    admin: bool


def visible(ctx: Context, reader: Reader) -> ColumnElement[bool]:
    """The condition on `deliveries` of what `reader` may see."""
    agency = deliveries.c.agency_code
    if not reader.admin:
        return agency == reader.agency_code
    below = (
        select(agencies.c.code)
        .where(agencies.c.parent_code == reader.agency_code)
        .cte("below", recursive=True)
    )
    child = agencies.alias("child")
    # UNION, not UNION ALL: a cycle in the tree ends the recursion instead of looping.
    below = below.union(select(child.c.code).where(child.c.parent_code == below.c.code))
    seen = or_(agency == reader.agency_code, agency.in_(select(below.c.code)))
    if reader.agency_code in ctx.settings.operator_agencies:
        seen = or_(seen, agency.is_(None))
    return seen
