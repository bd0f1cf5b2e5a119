"""stats's public HTTP API (API.md, stats section)."""

from fastapi import APIRouter

from stats.api import reports

router = APIRouter(prefix="/api/v1")
router.include_router(reports.router)
