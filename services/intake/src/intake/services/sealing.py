"""Keyed digests of what must not be stored in clear: update codes, personal data in the
names of stored keys, a password in a request's fingerprint.

An HMAC keyed by the service's own secret, one key per purpose, so that a digest made for
one purpose never matches one made for another. Update codes need no slow hash: 8 random
characters and the per-dossier attempt limit are enough.
"""

from __future__ import annotations

import hashlib
import hmac


def keyed_digest(secret: str, purpose: str, value: str) -> str:
    """HMAC-SHA256 of `value`, in hex, under the key of `purpose`."""
    key = hashlib.sha256(f"{purpose}:{secret}".encode()).digest()
    return hmac.new(key, value.encode(), "sha256").hexdigest()


def pseudonym(secret: str, value: str) -> str:
    """A stable stand-in for personal data in names and keys stored in clear."""
    return keyed_digest(secret, "pseudonym", value)[:32]


def update_code_digest(secret: str, update_code: str) -> str:
    return keyed_digest(secret, "update-code", update_code.upper())


def update_code_matches(secret: str, stored_digest: str | None, given: str) -> bool:
    return stored_digest is not None and hmac.compare_digest(
        stored_digest, update_code_digest(secret, given.strip())
    )
