"""Object storage (attachments, e-results) behind one small interface."""

from shared.storage.store import MinioObjectStore, ObjectStore, ObjectTooLarge, StoredObject

__all__ = ["MinioObjectStore", "ObjectStore", "ObjectTooLarge", "StoredObject"]
