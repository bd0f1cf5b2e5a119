"""Templates as data: one per event and channel, versioned, edited without a deploy;
what a template may say is domain.templates."""

from __future__ import annotations

import json
from collections.abc import Iterable
from importlib import resources
from typing import Any

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notify.adapters.tables import templates
from notify.domain.templates import problems
from notify.services.context import Context
from shared.db.sql import Sql
from shared.errors import Invalid, NotFound


def defaults() -> dict[str, dict[str, Any]]:
    text = (resources.files("notify") / "templates" / "defaults.json").read_text("utf-8")
    loaded: dict[str, dict[str, Any]] = json.loads(text)["templates"]
    return loaded


async def load_defaults(ctx: Context) -> None:
    """Version 1 of every shipped template whose key has none yet."""
    async with ctx.db.transaction() as session:
        for key, template in defaults().items():
            await session.execute(
                insert(templates)
                .values(key=key, version=1, subject=template["subject"], body=template["body"],
                        created_by="defaults")
                .on_conflict_do_nothing()
            )  # fmt: skip


# Written once: the version in force of each of a run's templates, in one statement.
_CURRENT = Sql(
    "SELECT DISTINCT ON (key) key, version, subject, body FROM templates"
    " WHERE key = ANY($1::text[]) ORDER BY key, version DESC"
)


async def current(session: AsyncSession, keys: Iterable[str]) -> dict[str, asyncpg.Record]:
    """The version in force of each template, by key; a key that has none is left out.
    Read in the caller's transaction, so a version saved meanwhile is in force as soon as
    it is committed."""
    return {row["key"]: row for row in await _CURRENT.fetch(session, list(keys))}


async def list_current(ctx: Context) -> list[dict[str, Any]]:
    """The newest version of every template, by key."""
    async with ctx.db.transaction() as session:
        newest = (
            select(templates.c.key, func.max(templates.c.version).label("version"))
            .group_by(templates.c.key)
            .subquery()
        )
        rows = await session.execute(
            select(templates)
            .join(
                newest,
                (templates.c.key == newest.c.key) & (templates.c.version == newest.c.version),
            )
            .order_by(templates.c.key)
        )
        return [dict(r) for r in rows.mappings()]


async def history(ctx: Context, key: str) -> list[dict[str, Any]]:
    """Every version of a template, newest first; NotFound for a key never saved."""
    async with ctx.db.transaction() as session:
        rows = await session.execute(
            select(templates).where(templates.c.key == key).order_by(templates.c.version.desc())
        )
        found = [dict(r) for r in rows.mappings()]
    if not found:
        raise NotFound("Không có mẫu thông báo này.")
    return found


async def save(
    ctx: Context, key: str, subject: str | None, body: str, author: str
) -> dict[str, Any]:
    """A new version of the template, in force for messages rendered from now on."""
    errors = problems(key, subject, body, ctx.settings.sms_max_segments)
    if errors:
        raise Invalid("Mẫu thông báo không hợp lệ.", errors=errors)
    async with ctx.db.transaction() as session:
        # One writer per key at a time, so two editors cannot take the same version.
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))
        version = await session.scalar(
            select(func.coalesce(func.max(templates.c.version), 0)).where(templates.c.key == key)
        )
        row = {"key": key, "version": int(version or 0) + 1, "subject": subject, "body": body,
               "created_by": author}  # fmt: skip
        await session.execute(templates.insert().values(**row))
    return row
