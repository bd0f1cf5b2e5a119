"""Secrets derived from the service's own secret, for values that must not be readable
in the database: update codes (kept as an HMAC; 8 random characters and the per-dossier
attempt limit make a slow hash unnecessary) and stored idempotent answers (encrypted, as
a submission's answer carries the update code)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet


def _derive(secret: str, purpose: str) -> bytes:
    return hashlib.sha256(f"{purpose}:{secret}".encode()).digest()


def update_code_digest(secret: str, update_code: str) -> str:
    digest = hmac.new(_derive(secret, "update-code"), update_code.upper().encode(), "sha256")
    return digest.hexdigest()


def update_code_matches(secret: str, stored_digest: str | None, given: str) -> bool:
    return stored_digest is not None and hmac.compare_digest(
        stored_digest, update_code_digest(secret, given.strip())
    )


def seal(secret: str, body: dict[str, Any]) -> str:
    key = base64.urlsafe_b64encode(_derive(secret, "idempotency"))
    return Fernet(key).encrypt(json.dumps(body).encode()).decode()


def unseal(secret: str, token: str) -> dict[str, Any]:
    key = base64.urlsafe_b64encode(_derive(secret, "idempotency"))
    body: dict[str, Any] = json.loads(Fernet(key).decrypt(token.encode()))
    return body
