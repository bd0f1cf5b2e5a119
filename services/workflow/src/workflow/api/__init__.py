"""workflow's public HTTP API (API.md, workflow section)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
