"""intake's public HTTP API (API.md, intake section)."""

from fastapi import APIRouter

from intake.api import accounts, catalogue, dossiers, oidc, payments, tracking

router = APIRouter(prefix="/api/v1")
for module in (catalogue, accounts, oidc, dossiers, payments, tracking):
    router.include_router(module.router)
