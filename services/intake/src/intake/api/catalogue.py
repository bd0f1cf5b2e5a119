"""intake API: catalogue."""

from fastapi import APIRouter

router = APIRouter(tags=["catalogue"])
