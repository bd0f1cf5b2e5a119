"""intake API: tracking."""

from fastapi import APIRouter

router = APIRouter(tags=["tracking"])
