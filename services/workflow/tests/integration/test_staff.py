"""Units and officers administered through workflow's API, on the real PostgreSQL and
RabbitMQ: who may do what (the authorization matrix), temporary passwords changed at
first sign-in, sessions that end, the audit, the first admin's command, and a commune's
new officers receiving a commune dossier."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.workflow.tests.integration.support import (
    PASSWORD,
    SOC_TRANG,
    arrived,
    catalogue,
    submitted,
)
from shared.contracts import Envelope
from shared.contracts import events as ev
from shared.security import CITIZEN_AUDIENCE, TokenIssuer
from shared.testing.infra import eventually
from shared.testing.service import ServiceUnderTest
from workflow.adapters.tables import agencies, officer_changes

pytestmark = pytest.mark.integration

PROVINCE = "G01.306.000.000"
UNIT = "G01.306.058.000"  # Công an thành phố Bắc Kạn, a district under the province
COMMUNE = "G01.306.058.003"  # Công an phường Đức Xuân, under the district
SIBLING = "G01.306.060.000"  # Công an huyện Pác Nặm, another district of the province
TREE = [
    ev.AgencyRef(code=PROVINCE, name="Công an tỉnh Bắc Kạn", level="province"),
    ev.AgencyRef(code=UNIT, name="Công an thành phố Bắc Kạn", level="district",
                 parent_code=PROVINCE),
    ev.AgencyRef(code=COMMUNE, name="Công an phường Đức Xuân", level="commune",
                 parent_code=UNIT),
    ev.AgencyRef(code=SIBLING, name="Công an huyện Pác Nặm", level="district",
                 parent_code=PROVINCE),
    ev.AgencyRef(code=SOC_TRANG, name="Công an tỉnh Sóc Trăng", level="province"),
]  # fmt: skip
NEW_PASSWORD = "matkhau-moi-2026"
PROCEDURES = catalogue().payload_as(ev.CataloguePublished).procedures


async def staffed_tree(service: ServiceUnderTest) -> None:
    """intake's catalogue with the units of the tests, as workflow learns it."""
    await service.publish(
        Envelope.wrap(
            ev.CataloguePublished(catalogue_version="staff", agencies=TREE, procedures=PROCEDURES),
            source="intake",
        )
    )

    async def known() -> bool:
        async with service.runtime.db.transaction() as session:
            found = await session.scalar(select(agencies.c.code).where(agencies.c.code == SIBLING))
        return found is not None

    await eventually(known, timeout=15, what="the units to be known")


async def sign_in(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    )


def bearer(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def officer_with_password(
    client: httpx.AsyncClient, admin: dict[str, str], unit: str, username: str, roles: list[str]
) -> dict[str, str]:
    """A new officer of `unit`, created by `admin`, temporary password changed: signed in."""
    created = await client.post(
        f"/api/v1/agencies/{unit}/officers", headers=admin,
        json={"username": username, "full_name": "Nguyễn Văn Thử", "roles": roles},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    first = bearer(await sign_in(client, username, created.json()["temporary_password"]))
    changed = await client.post(
        "/api/v1/auth/password", headers=first,
        json={"current_password": created.json()["temporary_password"],
              "new_password": NEW_PASSWORD},
    )  # fmt: skip
    return bearer(changed)


def citizen_token() -> dict[str, str]:
    """A citizen's token as intake issues it (another issuer, audience and key)."""
    intake = TokenIssuer("intake-secret-for-tests", issuer="intake", audience=CITIZEN_AUDIENCE)
    token, _ = intake.issue(str(uuid.uuid4()), "citizen")
    return {"Authorization": f"Bearer {token}"}


async def test_who_may_administer_which_unit(start_workflow: Any) -> None:
    service = await start_workflow()
    await staffed_tree(service)
    async with service.client() as client:
        callers: dict[str, dict[str, str]] = {
            "admin of the unit": bearer(await sign_in(client, "bkc.quantri")),
            "admin of the parent": bearer(await sign_in(client, "bk.quantri")),
            "admin of another province": bearer(await sign_in(client, "st.quantri")),
            "receiver of the unit": bearer(await sign_in(client, "bkc.tiepnhan")),
            "approver of the unit": bearer(await sign_in(client, "bkc.lanhdao")),
            "citizen": citizen_token(),
            "no token": {},
        }
        parent = callers["admin of the parent"]
        callers["admin of a sibling"] = await officer_with_password(
            client, parent, SIBLING, "pn.quantri", ["admin"]
        )
        callers["admin of a child"] = await officer_with_password(
            client, parent, COMMUNE, "dx.quantri", ["admin", "approver"]
        )
        n = iter(range(1000))

        async def list_(h: dict[str, str]) -> httpx.Response:
            return await client.get(f"/api/v1/agencies/{UNIT}/officers", headers=h)

        async def create(h: dict[str, str]) -> httpx.Response:
            return await client.post(
                f"/api/v1/agencies/{UNIT}/officers", headers=h,
                json={"username": f"bkc.moi{next(n)}", "full_name": "Lò Văn Mới",
                      "roles": ["receiver"]},
            )  # fmt: skip

        async def edit(h: dict[str, str]) -> httpx.Response:
            return await client.patch(
                "/api/v1/officers/bkc.xuly", headers=h, json={"phone": "0912000299"}
            )

        async def reset(h: dict[str, str]) -> httpx.Response:
            return await client.post("/api/v1/officers/bkc.xuly/reset-password", headers=h)

        expected = {
            "admin of the unit": (200, 201, 200, 200),
            "admin of the parent": (200, 201, 200, 200),
            "admin of a sibling": (404, 404, 404, 404),
            "admin of a child": (404, 404, 404, 404),
            "admin of another province": (404, 404, 404, 404),
            "receiver of the unit": (403, 403, 403, 403),
            "approver of the unit": (403, 403, 403, 403),
            "citizen": (401, 401, 401, 401),
            "no token": (401, 401, 401, 401),
        }
        seen = {}
        for who, headers in callers.items():
            answers = [await send(headers) for send in (list_, create, edit, reset)]
            seen[who] = tuple(a.status_code for a in answers)
            for answer in answers:
                if answer.status_code >= 400:
                    assert answer.headers["content-type"] == "application/problem+json"
        assert seen == expected

        # The list of units is each admin's own branch, with its officers counted.
        units = {}
        for who in ("admin of the parent", "admin of the unit", "admin of a sibling"):
            answer = await client.get("/api/v1/agencies", headers=callers[who])
            assert answer.status_code == 200, answer.text
            units[who] = {u["code"]: u for u in answer.json()["items"]}
        assert set(units["admin of the parent"]) == {PROVINCE, UNIT, COMMUNE, SIBLING}
        assert set(units["admin of the unit"]) == {UNIT, COMMUNE}
        assert set(units["admin of a sibling"]) == {SIBLING}
        commune = units["admin of the unit"][COMMUNE]
        staff = await client.get(f"/api/v1/agencies/{COMMUNE}/officers", headers=parent)
        assert commune["officers"] == len(staff.json()["items"])
        assert commune["officers_by_role"]["admin"] == 1  # dx.quantri
        for who in ("receiver of the unit", "citizen", "no token"):
            assert (await client.get("/api/v1/agencies", headers=callers[who])).status_code in {
                401, 403,
            }  # fmt: skip


async def test_a_new_officer_changes_the_temporary_password_first_and_old_sessions_end(
    start_workflow: Any,
) -> None:
    service = await start_workflow()
    await staffed_tree(service)
    async with service.client() as client:
        admin = bearer(await sign_in(client, "bkc.quantri"))
        created = await client.post(
            f"/api/v1/agencies/{COMMUNE}/officers", headers=admin,
            json={"username": "dx.motcua", "full_name": "Hà Thị Một Cửa",
                  "roles": ["receiver", "processor"], "phone": "0912 000 777",
                  "email": "motcua.ducxuan@example.vn"},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        temporary = created.json()["temporary_password"]
        assert created.json()["roles"] == ["processor", "receiver"]
        assert created.json()["phone"] == "0912000777"
        again = await client.post(
            f"/api/v1/agencies/{COMMUNE}/officers", headers=admin,
            json={"username": "dx.motcua", "full_name": "Ai Khác", "roles": ["receiver"]},
        )  # fmt: skip
        assert again.status_code == 409

        first = await sign_in(client, "dx.motcua", temporary)
        assert first.json()["must_change_password"] is True
        temporary_session = bearer(first)
        blocked = await client.get("/api/v1/dossiers", headers=temporary_session)
        assert blocked.status_code == 403
        assert blocked.json()["type"] == "urn:dvc:password-change-required"
        weak = await client.post(
            "/api/v1/auth/password", headers=temporary_session,
            json={"current_password": temporary, "new_password": "ngan"},
        )  # fmt: skip
        assert weak.status_code == 422
        assert weak.json()["errors"][0]["field"] == "new_password"
        wrong = await client.post(
            "/api/v1/auth/password", headers=temporary_session,
            json={"current_password": "khong-phai-9", "new_password": NEW_PASSWORD},
        )  # fmt: skip
        assert wrong.status_code == 422
        changed = await client.post(
            "/api/v1/auth/password", headers=temporary_session,
            json={"current_password": temporary, "new_password": NEW_PASSWORD},
        )  # fmt: skip
        assert changed.status_code == 200, changed.text
        assert changed.json()["must_change_password"] is False
        desk = bearer(changed)
        assert (await client.get("/api/v1/dossiers", headers=desk)).status_code == 200
        # The session of the temporary password has ended.
        assert (await client.get("/api/v1/dossiers", headers=temporary_session)).status_code == 401
        assert (await sign_in(client, "dx.motcua", temporary)).status_code == 401

        # The commune's new officer receives a commune-level residence dossier and, as
        # its processor too, takes it on.
        envelope = submitted(code=f"{COMMUNE}-261201-0001")
        data = envelope.payload_as(ev.DossierSubmitted).model_copy(
            update={"agency_code": COMMUNE, "agency_name": "Công an phường Đức Xuân"}
        )
        envelope = Envelope.wrap(data, source="intake", dossier_code=envelope.dossier_code,
                                 sequence=1)  # fmt: skip
        await arrived(service, envelope)
        code = envelope.dossier_code
        received = await client.post(f"/api/v1/dossiers/{code}/receive", headers=desk)
        assert received.status_code == 200, received.text
        assigned = await client.post(
            f"/api/v1/dossiers/{code}/assign", headers=desk, json={"officer": "dx.motcua"}
        )
        assert assigned.status_code == 200, assigned.text

        # A reset by the admin ends that session too, and asks for a change again.
        other_session = bearer(await sign_in(client, "dx.motcua", NEW_PASSWORD))
        reset = await client.post("/api/v1/officers/dx.motcua/reset-password", headers=admin)
        assert reset.status_code == 200, reset.text
        for session in (desk, other_session):
            assert (await client.get("/api/v1/dossiers", headers=session)).status_code == 401
        assert (await sign_in(client, "dx.motcua", NEW_PASSWORD)).status_code == 401
        after_reset = await sign_in(client, "dx.motcua", reset.json()["temporary_password"])
        assert after_reset.json()["must_change_password"] is True

        # Deactivated: the session ends and sign-in is refused.
        live = bearer(after_reset)
        deactivated = await client.patch(
            "/api/v1/officers/dx.motcua", headers=admin, json={"active": False}
        )
        assert deactivated.status_code == 200, deactivated.text
        assert deactivated.json()["active"] is False
        assert (await client.post("/api/v1/auth/password", headers=live, json={
            "current_password": reset.json()["temporary_password"],
            "new_password": NEW_PASSWORD + "x",
        })).status_code == 401  # fmt: skip
        assert (
            await sign_in(client, "dx.motcua", reset.json()["temporary_password"])
        ).status_code == 401
        # An admin cannot deactivate themselves (the unit would be left without one).
        own = await client.patch(
            "/api/v1/officers/bkc.quantri", headers=admin, json={"active": False}
        )
        assert own.status_code == 409

        # A page at a time: every officer of the unit once, in username order.
        listed: list[dict[str, Any]] = []
        cursor: str | None = ""
        while cursor is not None:
            page = await client.get(
                f"/api/v1/agencies/{COMMUNE}/officers",
                params={"limit": 1, **({"cursor": cursor} if cursor else {})}, headers=admin,
            )  # fmt: skip
            assert page.status_code == 200, page.text
            listed += page.json()["items"]
            cursor = page.json()["next_cursor"]
        usernames = [o["username"] for o in listed]
        assert usernames == sorted(set(usernames))
        assert {"dx.motcua", "bkdx.tiepnhan"} <= set(usernames)
        assert next(o for o in listed if o["username"] == "dx.motcua")["active"] is False

    async with service.runtime.db.transaction() as session:
        audit = (
            await session.execute(
                select(officer_changes)
                .where(officer_changes.c.username == "dx.motcua")
                .order_by(officer_changes.c.id)
            )
        ).mappings().all()  # fmt: skip
    assert [(a["action"], a["actor_name"]) for a in audit] == [
        ("create", "Lục Văn Bình"),
        ("change_password", "Hà Thị Một Cửa"),
        ("reset_password", "Lục Văn Bình"),
        ("deactivate", "Lục Văn Bình"),
    ]
    assert all(a["at"] is not None for a in audit)
    assert audit[3]["changes"] == {"active": [True, False]}
    for secret in (temporary, NEW_PASSWORD, reset.json()["temporary_password"]):
        assert secret not in str([dict(a) for a in audit])


async def test_the_first_admin_of_a_fresh_installation_comes_from_the_command(
    start_workflow: Any,
) -> None:
    service = await start_workflow(seed_demo_officers=False)
    env = {**os.environ, "WORKFLOW_DATABASE_URL": service.runtime.db.url}
    command = [sys.executable, "-m", "workflow", "create-admin", "--username", "qt.dautien",
               "--full-name", "Quản Trị Đầu Tiên", "--agency", PROVINCE]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()
    password = out.decode().strip().rsplit(" ", 1)[-1]
    async with service.client() as client:
        assert (await sign_in(client, "bk.quantri")).status_code == 401  # no demo officers
        first = await sign_in(client, "qt.dautien", password)
        assert first.json()["must_change_password"] is True
        admin = bearer(
            await client.post(
                "/api/v1/auth/password", headers=bearer(first),
                json={"current_password": password, "new_password": NEW_PASSWORD},
            )
        )  # fmt: skip
        staffed = await client.post(
            f"/api/v1/agencies/{PROVINCE}/officers", headers=admin,
            json={"username": "bk.motcua", "full_name": "Nông Thị Một", "roles": ["receiver"]},
        )  # fmt: skip
        assert staffed.status_code == 201, staffed.text
    again = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(again.communicate(), timeout=120)
    assert again.returncode != 0
    assert "qt.dautien" in err.decode()


async def test_the_audit_is_read_by_the_admins_of_the_unit_and_above_only(
    start_workflow: Any,
) -> None:
    service = await start_workflow()
    await staffed_tree(service)
    below = {
        "admin of the parent": {PROVINCE, UNIT, COMMUNE, SIBLING},
        "admin of the unit": {UNIT, COMMUNE},
        "admin of a sibling": {SIBLING},
        "admin of a child": {COMMUNE},
        "admin of another province": {SOC_TRANG},
    }
    async with service.client() as client:
        callers: dict[str, dict[str, str]] = {
            "admin of the unit": bearer(await sign_in(client, "bkc.quantri")),
            "admin of the parent": bearer(await sign_in(client, "bk.quantri")),
            "admin of another province": bearer(await sign_in(client, "st.quantri")),
            "receiver of the unit": bearer(await sign_in(client, "bkc.tiepnhan")),
            "approver of the unit": bearer(await sign_in(client, "bkc.lanhdao")),
            "citizen": citizen_token(),
            "no token": {},
        }
        parent = callers["admin of the parent"]
        # Changes in every unit: officers created (and their first password change), an
        # edit by the unit's admin, a reset by the parent's.
        callers["admin of a sibling"] = await officer_with_password(
            client, parent, SIBLING, "pn.quantri", ["admin"]
        )
        callers["admin of a child"] = await officer_with_password(
            client, parent, COMMUNE, "dx.quantri", ["admin", "approver"]
        )
        edited = await client.patch(
            "/api/v1/officers/bkc.xuly", headers=callers["admin of the unit"],
            json={"phone": "0912000299"},
        )  # fmt: skip
        assert edited.status_code == 200, edited.text
        reset = await client.post("/api/v1/officers/bkc.xuly/reset-password", headers=parent)
        assert reset.status_code == 200, reset.text

        async with service.runtime.db.transaction() as session:
            rows = (
                await session.execute(
                    select(
                        officer_changes.c.username,
                        officer_changes.c.action,
                        officer_changes.c.agency_code,
                    )
                )
            ).all()
        kept = sorted(tuple(r) for r in rows)

        def trail(answer: httpx.Response) -> list[tuple[str, str, str]]:
            assert answer.status_code == 200, answer.text
            return [(i["username"], i["action"], i["agency_code"]) for i in answer.json()["items"]]

        seen = {}
        for who, headers in callers.items():
            answer = await client.get("/api/v1/officers/audit?limit=200", headers=headers)
            if answer.status_code >= 400:
                assert answer.headers["content-type"] == "application/problem+json"
            seen[who] = answer.status_code
            if who in below:
                assert sorted(trail(answer)) == [r for r in kept if r[2] in below[who]], who
        assert seen == {
            **dict.fromkeys(below, 200),
            "receiver of the unit": 403, "approver of the unit": 403,
            "citizen": 401, "no token": 401,
        }  # fmt: skip
        assert {r[2] for r in kept} >= {UNIT, COMMUNE, SIBLING}

        # Who, when, what, newest first; of a password only that it was reset.
        unit_admin = callers["admin of the unit"]
        own = await client.get("/api/v1/officers/audit?username=bkc.xuly", headers=unit_admin)
        reset_row, edit_row = own.json()["items"][:2]
        assert (reset_row["action"], reset_row["changes"]) == (
            "reset_password",
            {"password": "reset"},
        )
        assert reset_row["actor_agency"] == PROVINCE
        assert reset_row["actor_name"]
        assert reset_row["at"] >= edit_row["at"]
        assert edit_row["action"] == "update"
        assert edit_row["changes"]["phone"][1] == "0912000299"
        assert edit_row["actor_agency"] == UNIT

        # One unit and those under it, if the admin runs it; another branch does not exist.
        commune = await client.get(f"/api/v1/officers/audit?agency={COMMUNE}", headers=unit_admin)
        assert sorted(trail(commune)) == [r for r in kept if r[2] == COMMUNE]
        for who, agency in (("admin of a sibling", UNIT), ("admin of a child", UNIT),
                            ("admin of another province", COMMUNE)):  # fmt: skip
            hidden = await client.get(
                f"/api/v1/officers/audit?agency={agency}", headers=callers[who]
            )
            assert hidden.status_code == 404, (who, hidden.text)

        # Page by page, the same trail, newest first, each row once.
        pages, cursor = [], None
        while True:
            query = "/api/v1/officers/audit?limit=2" + (f"&cursor={cursor}" if cursor else "")
            page = await client.get(query, headers=parent)
            pages.extend(page.json()["items"])
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
        everything = (await client.get("/api/v1/officers/audit?limit=200", headers=parent)).json()
        assert pages == everything["items"]
        assert [p["at"] for p in pages] == sorted((p["at"] for p in pages), reverse=True)
        # A cursor is a row id: any other shape is refused by the route's schema, naming it.
        for forged in ("abc", "0", "-5", "99999999999999999999"):
            bad = await client.get(f"/api/v1/officers/audit?cursor={forged}", headers=parent)
            assert bad.status_code == 422, (forged, bad.text)
            assert bad.headers["content-type"] == "application/problem+json"
            assert [e["field"] for e in bad.json()["errors"]] == ["cursor"]
