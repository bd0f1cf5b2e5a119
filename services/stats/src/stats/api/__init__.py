"""stats's public HTTP API (API.md, stats section)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
