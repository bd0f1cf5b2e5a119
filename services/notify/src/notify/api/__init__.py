"""notify's public HTTP API (API.md, notify section)."""

from fastapi import APIRouter

from notify.api import notifications

router = APIRouter(prefix="/api/v1")
router.include_router(notifications.router)
