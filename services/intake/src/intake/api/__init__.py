"""intake's public HTTP API (API.md, intake section)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
