"""intake API: dossiers."""

from fastapi import APIRouter

router = APIRouter(tags=["dossiers"])
