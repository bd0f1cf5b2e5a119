"""The procedure catalogue and the agency tree: loaded from the versioned data files
shipped with the service, searched by the portal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import and_, select, text

from intake.adapters.tables import agencies, procedures
from intake.domain.reference import reference_problems
from intake.domain.text import fold
from intake.services.context import Context
from intake.services.pages import Page
from shared.contracts import events
from shared.db.rows import upsert
from shared.errors import Invalid, NotFound
from shared.pages import split_page

DATA_DIR = Path(__file__).resolve().parent.parent / "catalogue_data"
_LEVEL_ORDER = {"province": 0, "district": 1, "commune": 2}
# Any constant works: it only keeps two replicas starting together from loading at once.
_LOAD_LOCK = 0x1D05_CA7A


async def load_catalogue(ctx: Context, data_dir: Path = DATA_DIR) -> str:
    """Upsert every agency and procedure of the data files; returns the catalogue version.

    Procedures missing from a newer file are kept: dossiers already refer to them. The
    catalogue is published as an event at every start, not only when its version changes:
    it costs one message, and a consumer that lost its copy gets it back.
    """
    agency_data = json.loads((data_dir / "agencies.json").read_text(encoding="utf-8"))
    procedure_data = json.loads((data_dir / "procedures.json").read_text(encoding="utf-8"))
    version = str(procedure_data["version"])
    problems = reference_problems(procedure_data["procedures"], agency_data)
    if problems:
        # Data that would present a demo code as official is not loaded at all.
        raise ValueError("catalogue reference data: " + "; ".join(problems))
    async with ctx.db.transaction() as session:
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOAD_LOCK})
        for agency in sorted(agency_data["agencies"], key=lambda a: _LEVEL_ORDER[a["level"]]):
            row = {
                "code": agency["code"],
                "name": agency["name"],
                "level": agency["level"],
                "parent_code": agency.get("parent_code"),
                "province": agency["province"],
                "search_text": fold(f"{agency['name']} {agency['province']}"),
                "code_status": agency["code_status"],
            }
            await upsert(session, agencies, row)
        for proc in procedure_data["procedures"]:
            row = {
                "code": proc["code"],
                "name": proc["name"],
                "field": proc["field"],
                "online_level": proc["online_level"],
                "authority_levels": proc["authority_levels"],
                "applicant_kinds": proc.get("applicant_kinds") or ["citizen", "proxy"],
                "processing_days": proc["processing_days"],
                "fee_vnd": proc["fee_vnd"],
                "cutoff_time": proc.get("cutoff_time") or "15:00",
                "supplement_days": proc.get("supplement_days"),
                "form_schema": proc["form_schema"],
                "documents": proc["documents"],
                "cases": proc.get("cases") or [],
                "search_text": fold(f"{proc['code']} {proc['name']}"),
                "catalogue_version": version,
                "code_scope": proc["code_scope"],
                "fee_timing": proc["fee_timing"],
            }
            await upsert(session, procedures, row)
        await ctx.outbox.add(session, _published(version, agency_data, procedure_data))
    # Committed: this process answers with the new version from now on.
    ctx.reference.forget()
    return version


def _published(version: str, agency_data: Any, procedure_data: Any) -> events.CataloguePublished:
    return events.CataloguePublished(
        catalogue_version=version,
        agencies=[
            events.AgencyRef(
                code=a["code"], name=a["name"], level=a["level"], parent_code=a.get("parent_code")
            )
            for a in agency_data["agencies"]
        ],
        procedures=[
            events.ProcedureTerms(
                code=p["code"],
                name=p["name"],
                field=p["field"],
                online_level=p["online_level"],
                processing_days=p["processing_days"],
                cutoff_time=p.get("cutoff_time") or "15:00",
                fee_vnd=p["fee_vnd"],
                fee_timing=p["fee_timing"],
                supplement_days=p.get("supplement_days"),
                documents=[
                    events.DocumentName(code=d["code"], name=d["name"], required=d["required"])
                    for d in p["documents"]
                ],
            )
            for p in procedure_data["procedures"]
        ],
    )


def _words_match(column: Any, q: str | None) -> Any:
    words = fold(q or "").split()
    return and_(*(column.contains(w, autoescape=True) for w in words)) if words else None


async def search_procedures(
    ctx: Context,
    *,
    q: str | None = None,
    field: str | None = None,
    agency_code: str | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> Page:
    """Procedures matching every word of `q` (with or without diacritics)."""
    query = select(procedures).order_by(procedures.c.code).limit(limit + 1)
    conditions = [c for c in (_words_match(procedures.c.search_text, q),) if c is not None]
    if field:
        conditions.append(procedures.c.field == field)
    if cursor:
        conditions.append(procedures.c.code > cursor)
    async with ctx.db.transaction() as session:
        if agency_code:
            level = await session.scalar(
                select(agencies.c.level).where(agencies.c.code == agency_code)
            )
            if level is None:
                raise NotFound("Không tìm thấy cơ quan thực hiện này.")
            conditions.append(procedures.c.authority_levels.any(level))
        rows = (await session.execute(query.where(*conditions))).mappings().all()
    page, next_cursor = split_page(rows, limit, lambda r: str(r["code"]))
    return Page([procedure_summary(r) for r in page], next_cursor)


def procedure_summary(row: Any) -> dict[str, Any]:
    return {
        "code": row["code"],
        "code_scope": row["code_scope"],
        "name": row["name"],
        "field": row["field"],
        "online_level": row["online_level"],
        "authority_levels": row["authority_levels"],
        "processing_days": row["processing_days"],
        "fee_vnd": row["fee_vnd"],
        "fee_timing": row["fee_timing"],
    }


async def get_procedure(ctx: Context, code: str) -> dict[str, Any]:
    """One procedure in full: its terms, declaration form schema, documents and cases."""
    row = await ctx.reference.procedure(code)
    if row is None:
        raise NotFound("Không tìm thấy thủ tục hành chính này.")
    return {
        **procedure_summary(row),
        "applicant_kinds": row["applicant_kinds"],
        "cutoff_time": row["cutoff_time"],
        "supplement_days": row["supplement_days"],
        "form_schema": row["form_schema"],
        "documents": row["documents"],
        "cases": row["cases"],
        "catalogue_version": row["catalogue_version"],
    }


async def list_agencies(
    ctx: Context,
    *,
    q: str | None = None,
    level: str | None = None,
    parent_code: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> Page:
    """Agencies by level and parent (province → district → commune), or by name."""
    conditions = [c for c in (_words_match(agencies.c.search_text, q),) if c is not None]
    if level:
        conditions.append(agencies.c.level == level)
    if parent_code:
        conditions.append(agencies.c.parent_code == parent_code)
    if cursor:
        conditions.append(agencies.c.code > cursor)
    query = (
        select(
            agencies.c.code,
            agencies.c.name,
            agencies.c.level,
            agencies.c.parent_code,
            agencies.c.province,
            agencies.c.code_status,
        )
        .where(*conditions)
        .order_by(agencies.c.code)
        .limit(limit + 1)
    )
    async with ctx.db.transaction() as session:
        rows = [dict(r) for r in (await session.execute(query)).mappings().all()]
    page, next_cursor = split_page(rows, limit, lambda r: str(r["code"]))
    return Page(list(page), next_cursor)


async def agency_and_procedure(
    ctx: Context, agency_code: str, procedure_code: str
) -> tuple[Any, Any]:
    """Both rows, or a 422 problem naming the one that does not exist."""
    agency = await ctx.reference.agency(agency_code)
    procedure = await ctx.reference.procedure(procedure_code)
    errors = []
    if procedure is None:
        errors.append({"field": "procedure_code", "message": "Thủ tục hành chính không tồn tại."})
    if agency is None:
        errors.append({"field": "agency_code", "message": "Cơ quan thực hiện không tồn tại."})
    elif procedure is not None and agency["level"] not in procedure["authority_levels"]:
        errors.append(
            {"field": "agency_code", "message": "Cơ quan này không giải quyết thủ tục đã chọn."}
        )
    if errors:
        raise Invalid("Thủ tục hoặc cơ quan thực hiện không phù hợp.", errors=errors)
    return agency, procedure
