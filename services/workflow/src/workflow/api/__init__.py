"""workflow's public HTTP API (API.md, workflow section)."""

from fastapi import APIRouter

from workflow.api import auth, calendar, dossiers, staff

router = APIRouter(prefix="/api/v1")
for module in (auth, dossiers, calendar, staff):
    router.include_router(module.router)
