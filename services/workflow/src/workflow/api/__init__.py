"""workflow's public HTTP API (API.md, workflow section)."""

from fastapi import APIRouter

from workflow.api import auth, calendar, counter, dossiers, staff, sync

router = APIRouter(prefix="/api/v1")
for module in (auth, dossiers, counter, calendar, staff, sync):
    router.include_router(module.router)
