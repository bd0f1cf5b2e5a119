"""Object storage (attachments, e-results) behind one small interface."""

from shared.storage.store import MinioObjectStore, ObjectStore, ObjectTooLarge, StoredObject

# The citizens' files: uploaded online at intake, or scanned at workflow's desk.
ATTACHMENTS_BUCKET = "dossier-attachments"

__all__ = [
    "ATTACHMENTS_BUCKET",
    "MinioObjectStore",
    "ObjectStore",
    "ObjectTooLarge",
    "StoredObject",
]
