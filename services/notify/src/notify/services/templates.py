"""Templates as data: one per event and channel, versioned, edited without a deploy.

Jinja2 in a sandbox with StrictUndefined: a template names only what its event supplies
(checked when it is saved, so a typo is refused at once, not discovered when a citizen
should have been told), and cannot reach anything else.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notify.adapters.tables import templates
from notify.domain.messages import allowed_variables
from notify.domain.text import max_length, septets, unaccent
from notify.services.context import Context
from shared.errors import Invalid, NotFound

ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


def split_key(key: str) -> tuple[str, str]:
    """`dossier.received.sms` → (`dossier.received`, `sms`)."""
    event_type, _, channel = key.rpartition(".")
    return event_type, channel


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


def problems(key: str, subject: str | None, body: str, max_segments: int) -> list[dict[str, str]]:
    """What is wrong with a template, field by field (Vietnamese), empty when it can be saved."""
    event_type, channel = split_key(key)
    allowed = allowed_variables(event_type)
    if not allowed or channel not in ("sms", "email"):
        return [{"field": "key", "message": f"Không có sự kiện hoặc kênh gửi “{key}”."}]
    found: list[dict[str, str]] = []
    for field, source in (("subject", subject), ("body", body)):
        if source is None:
            continue
        try:
            used = meta.find_undeclared_variables(ENV.parse(source))
        except TemplateSyntaxError as exc:
            found.append({"field": field, "message": f"Mẫu sai cú pháp (dòng {exc.lineno})."})
            continue
        for name in sorted(used - allowed):
            found.append(
                {"field": field, "message": f"Sự kiện {event_type} không có trường “{name}”."}
            )
    if channel == "email" and not subject:
        found.append({"field": "subject", "message": "Thư điện tử cần có tiêu đề."})
    if channel == "sms" and not found:
        # The fixed text alone must fit; the values are shortened at send time if needed.
        literal = "".join(node.data for node in ENV.parse(body).find_all(nodes.TemplateData))
        if septets(unaccent(literal)) > max_length(max_segments):
            found.append({"field": "body", "message": "Tin nhắn quá dài so với số đoạn cho phép."})
    return found


async def current(session: AsyncSession, key: str) -> Any:
    return (
        (
            await session.execute(
                select(templates)
                .where(templates.c.key == key)
                .order_by(templates.c.version.desc())
                .limit(1)
            )
        )
        .mappings()
        .first()
    )


def render(source: str, values: dict[str, Any]) -> str:
    return ENV.from_string(source).render(**values).strip()


async def list_current(ctx: Context) -> list[dict[str, Any]]:
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
