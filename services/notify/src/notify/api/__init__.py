"""notify's public HTTP API (API.md, notify section)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
