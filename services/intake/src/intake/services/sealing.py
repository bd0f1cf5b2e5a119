"""Update codes kept as an HMAC keyed by the service's own secret: 8 random characters
and the per-dossier attempt limit make a slow hash unnecessary."""

from __future__ import annotations

import hashlib
import hmac


def _derive(secret: str, purpose: str) -> bytes:
    return hashlib.sha256(f"{purpose}:{secret}".encode()).digest()


def update_code_digest(secret: str, update_code: str) -> str:
    digest = hmac.new(_derive(secret, "update-code"), update_code.upper().encode(), "sha256")
    return digest.hexdigest()


def update_code_matches(secret: str, stored_digest: str | None, given: str) -> bool:
    return stored_digest is not None and hmac.compare_digest(
        stored_digest, update_code_digest(secret, given.strip())
    )
