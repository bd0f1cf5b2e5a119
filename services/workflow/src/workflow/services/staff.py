"""Units and their officers, administered by the admins of the unit or of a unit above it
(API.md, "workflow: units and officers"): list, create, edit, deactivate, reset a
password. Each change is audited (`officers.audit`) and the audit is read back by the
same admins (`audit_trail`); a unit of another branch of the tree does not exist for the
admin (404)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import BadRequest, Conflict, NotFound
from shared.pages import split_page
from workflow.adapters.tables import agencies, officer_changes, officers
from workflow.domain.lifecycle import Role
from workflow.domain.staff import check_roles, runs
from workflow.services.changes import Officer
from workflow.services.context import Context
from workflow.services.officers import (
    audit,
    insert_new_officer,
    set_password,
    temporary_credentials,
)

_NO_UNIT = "Không tìm thấy đơn vị này trong phạm vi quản lý của bạn."
_NO_OFFICER = "Không tìm thấy cán bộ này trong phạm vi quản lý của bạn."
# What an admin may change of an officer, as the audit names it.
EDITABLE = ("full_name", "roles", "phone", "email", "active")


@dataclass(frozen=True)
class NewOfficer:
    username: str
    full_name: str
    roles: list[str]
    phone: str | None = None
    email: str | None = None


def view(row: Any) -> dict[str, Any]:
    return {
        "username": row["username"], "full_name": row["full_name"],
        "roles": list(row["roles"]), "phone": row["phone"], "email": row["email"],
        "active": row["active"], "agency_code": row["agency_code"],
        "must_change_password": row["must_change_password"],
    }  # fmt: skip


async def _chain(session: AsyncSession, code: str) -> dict[str, str | None]:
    """The unit and the units above it, each with its parent."""
    up = (
        select(agencies.c.code, agencies.c.parent_code)
        .where(agencies.c.code == code)
        .cte("up", recursive=True)
    )
    up = up.union(
        select(agencies.c.code, agencies.c.parent_code).join(
            up, agencies.c.code == up.c.parent_code
        )
    )
    rows = (await session.execute(select(up.c.code, up.c.parent_code))).all()
    return {row.code: row.parent_code for row in rows}


async def check_runs(session: AsyncSession, admin: Officer, code: str, missing: str) -> None:
    """NotFound unless the admin runs the unit `code` (theirs, or one under it)."""
    if code == admin.agency_code:
        return
    if not runs(await _chain(session, code), admin.agency_code, code):
        raise NotFound(missing)


def _encode(username: str) -> str:
    return base64.urlsafe_b64encode(username.encode()).decode().rstrip("=")


def _decode(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadRequest("Tham số cursor không hợp lệ.") from None


async def list_officers(
    ctx: Context, admin: Officer, code: str, *, limit: int, cursor: str | None
) -> dict[str, Any]:
    async with ctx.db.transaction() as session:
        await check_runs(session, admin, code, _NO_UNIT)
        query = select(officers).where(officers.c.agency_code == code)
        if cursor:
            query = query.where(officers.c.username > _decode(cursor))
        rows = (
            (await session.execute(query.order_by(officers.c.username).limit(limit + 1)))
            .mappings()
            .all()
        )
    page, next_cursor = split_page(rows, limit, lambda r: _encode(r["username"]))
    return {"items": [view(r) for r in page], "next_cursor": next_cursor}


def _below(code: str) -> Any:
    """The unit `code` and every unit under it, as a query of their codes."""
    down = select(agencies.c.code).where(agencies.c.code == code).cte("down", recursive=True)
    down = down.union(select(agencies.c.code).join(down, agencies.c.parent_code == down.c.code))
    return select(down.c.code)


# A cursor is the last row's id: a bigint, so anything else was not handed out.
_MAX_ID = 2**63 - 1


def _after_id(cursor: str) -> int:
    try:
        value = int(cursor)
    except ValueError:
        value = 0
    if not 0 < value <= _MAX_ID:
        raise BadRequest("Tham số cursor không hợp lệ.")
    return value


async def audit_trail(
    ctx: Context, admin: Officer, *, agency: str | None, username: str | None, limit: int,
    cursor: str | None,
) -> dict[str, Any]:  # fmt: skip
    """The changes to officers of the units the admin runs (or of `agency`, one of them,
    and those under it), newest first: who, when, what."""
    query = select(officer_changes).where(
        officer_changes.c.agency_code.in_(_below(agency or admin.agency_code))
    )
    if username is not None:
        query = query.where(officer_changes.c.username == username)
    if cursor:
        query = query.where(officer_changes.c.id < _after_id(cursor))
    async with ctx.db.transaction() as session:
        if agency is not None:
            await check_runs(session, admin, agency, _NO_UNIT)
        rows = (
            (await session.execute(query.order_by(officer_changes.c.id.desc()).limit(limit + 1)))
            .mappings()
            .all()
        )
    page, next_cursor = split_page(rows, limit, lambda r: str(r["id"]))
    items = [
        {"at": r["at"], "actor_name": r["actor_name"], "actor_agency": r["actor_agency"],
         "username": r["username"], "agency_code": r["agency_code"], "action": r["action"],
         "changes": r["changes"]}
        for r in page
    ]  # fmt: skip
    return {"items": items, "next_cursor": next_cursor}


async def list_units(ctx: Context, admin: Officer) -> dict[str, Any]:
    """The admin's unit and every unit under it, each with its officers counted."""
    down = _below(admin.agency_code)
    role = func.unnest(officers.c.roles).label("role")
    async with ctx.db.transaction() as session:
        units = (
            (
                await session.execute(
                    select(agencies).where(agencies.c.code.in_(down)).order_by(agencies.c.code)
                )
            )
            .mappings()
            .all()
        )
        codes = [u["code"] for u in units]
        totals = (
            await session.execute(
                select(officers.c.agency_code, officers.c.active, func.count())
                .where(officers.c.agency_code.in_(codes))
                .group_by(officers.c.agency_code, officers.c.active)
            )
        ).all()
        held = (
            select(officers.c.agency_code, role)
            .where(officers.c.agency_code.in_(codes), officers.c.active)
            .subquery()
        )
        by_role = (
            await session.execute(
                select(held.c.agency_code, held.c.role, func.count()).group_by(
                    held.c.agency_code, held.c.role
                )
            )
        ).all()
    counts: dict[str, dict[str, Any]] = {
        code: {"officers": 0, "inactive_officers": 0, "officers_by_role": dict.fromkeys(Role, 0)}
        for code in codes
    }
    for code, active, n in totals:
        counts[code]["officers" if active else "inactive_officers"] = n
    for code, held, n in by_role:
        counts[code]["officers_by_role"][held] = n
    items = [
        {"code": u["code"], "name": u["name"], "level": u["level"],
         "parent_code": u["parent_code"], **counts[u["code"]]}
        for u in units
    ]  # fmt: skip
    return {"items": items, "next_cursor": None}


async def create_officer(
    ctx: Context, admin: Officer, code: str, new: NewOfficer
) -> dict[str, Any]:
    """A new officer of the unit `code`, with a temporary password to change at first
    sign-in (answered once, stored only as its hash)."""
    roles = check_roles(new.roles)
    password, password_hash = await temporary_credentials()
    async with ctx.db.transaction() as session:
        await check_runs(session, admin, code, _NO_UNIT)
        created = await insert_new_officer(
            session, username=new.username, full_name=new.full_name, roles=roles,
            agency_code=code, password_hash=password_hash, phone=new.phone, email=new.email,
        )  # fmt: skip
        if created is None:
            raise Conflict(
                f"Tên đăng nhập “{new.username}” đã được dùng, vui lòng chọn tên khác.",
                type_="urn:dvc:username-taken",
            )
        await audit(
            session, admin, created, "create",
            {field: [None, view(created)[field]] for field in EDITABLE},
        )  # fmt: skip
    return {"username": new.username, "temporary_password": password, **view(created)}


async def _target(session: AsyncSession, admin: Officer, username: str) -> Any:
    row = (
        (
            await session.execute(
                select(officers).where(officers.c.username == username).with_for_update()
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(_NO_OFFICER)
    await check_runs(session, admin, row["agency_code"], _NO_OFFICER)
    return row


async def update_officer(
    ctx: Context, admin: Officer, username: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """Change what `changes` names; new roles or a deactivation end the officer's sessions."""
    if "roles" in changes:
        changes = {**changes, "roles": check_roles(changes["roles"])}
    async with ctx.db.transaction() as session:
        row = await _target(session, admin, username)
        if row["id"] == admin.id and (
            changes.get("active") is False
            or ("roles" in changes and Role.ADMIN not in changes["roles"])
        ):
            raise Conflict(
                "Không thể tự vô hiệu hóa hoặc bỏ quyền quản trị của chính mình.",
                type_="urn:dvc:own-admin-account",
            )
        before = view(row)
        diff = {
            field: [before[field], value]
            for field, value in changes.items()
            if field in EDITABLE and before[field] != value
        }
        if not diff:
            return before
        ends_sessions = "roles" in diff or "active" in diff
        values: dict[str, Any] = {field: after for field, (_, after) in diff.items()}
        if ends_sessions:
            values["session_version"] = officers.c.session_version + 1
        updated = (
            (
                await session.execute(
                    officers.update()
                    .where(officers.c.id == row["id"])
                    .values(**values, updated_at=func.now())
                    .returning(*officers.c)
                )
            )
            .mappings()
            .one()
        )
        action = "deactivate" if diff.get("active", [None, True])[1] is False else "update"
        await audit(session, admin, updated, action, diff)
    if ends_sessions:
        ctx.sessions.moved(
            str(updated["id"]), updated["session_version"] if updated["active"] else None
        )
    return view(updated)


async def reset_password(ctx: Context, admin: Officer, username: str) -> dict[str, Any]:
    """A temporary password for the officer, to change at first sign-in; their sessions
    end and their sign-in lockout is lifted everywhere."""
    password, password_hash = await temporary_credentials()
    async with ctx.db.transaction() as session:
        row = await _target(session, admin, username)
        updated = await set_password(
            session, row["id"], password_hash, temporary=True, active_only=False
        )
        await ctx.lockout.forget(session, username, None)
        await audit(session, admin, updated, "reset_password", {"password": "reset"})
    ctx.sessions.moved(
        str(updated["id"]), updated["session_version"] if updated["active"] else None
    )
    return {"username": username, "temporary_password": password}
