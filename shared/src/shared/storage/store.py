"""The object store: MinIO in production, SeaweedFS's S3 gateway locally and in tests,
both through the MinIO client.

Uploads are streamed: the body is read in chunks, hashed (SHA-256) and counted as it
goes to the store, never held whole in memory; a body over its limit aborts the upload
and leaves no object behind. The MinIO client is blocking, so calls run in a thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import itertools
import logging
import traceback
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO, Protocol, cast
from urllib.parse import urlunsplit

import certifi
import urllib3
from minio import Minio
from minio import time as amz_time
from minio.credentials import Credentials
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.helpers import BaseURL
from minio.signer import sign_v4_s3
from urllib3.exceptions import HTTPError

log = logging.getLogger(__name__)

# Multipart part size: the S3 minimum, so memory per upload stays ~5 MiB at most.
PART_SIZE = 5 * 1024 * 1024
# A file that has ended within this many bytes is sent in one PUT from one worker thread:
# streaming it through the thread instead costs a hop between the thread and the event
# loop for every chunk, more CPU than the PUT itself for the scans citizens send (a few
# hundred KiB). Larger files stream, so memory per upload stays bounded as before.
WHOLE_BELOW = 1024 * 1024
# Seconds to connect, and to wait for each read, before the store counts as away: the
# client's own default of five minutes would hold a citizen's request (and a worker
# thread) that long behind a store that hangs.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0


def unavailable(error: BaseException) -> bool:
    """Whether `error` says the store cannot be reached now (refused, cut off, timed out,
    or answering 5xx after the client's retries), as opposed to a fault of the request."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        # The HTTP client's errors only: an OSError alone may as well be the database's.
        if isinstance(cause, HTTPError | ServerError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


class ObjectTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"object exceeds {limit} bytes")
        self.limit = limit


@dataclass(frozen=True)
class StoredObject:
    bucket: str
    key: str
    size: int
    sha256: str
    content_type: str


class ObjectStore(Protocol):
    async def put_stream(
        self,
        bucket: str,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str,
        max_size: int,
    ) -> StoredObject: ...

    async def get_bytes(self, bucket: str, key: str) -> bytes: ...

    async def remove(self, bucket: str, key: str) -> None: ...

    async def exists(self, bucket: str, key: str) -> bool: ...

    def presigned_get(self, bucket: str, key: str, expires: timedelta) -> str: ...

    async def ensure_buckets(self, *buckets: str) -> None: ...

    async def ping(self, bucket: str | None = None) -> None: ...

    def listing(self, bucket: str, *, before: datetime) -> AsyncIterator[list[str]]: ...


class _HashingReader(io.RawIOBase):
    """A file-like view of an async chunk stream for the MinIO client's thread.

    Each `read` pulls the next chunk from the event loop; bytes are hashed and counted
    on the way, and the size limit is enforced before the store sees the excess.
    """

    def __init__(
        self, chunks: AsyncIterator[bytes], loop: asyncio.AbstractEventLoop, max_size: int
    ) -> None:
        self._chunks = chunks
        self._loop = loop
        self._max_size = max_size
        self._buffer = bytearray()
        self._done = False
        self.size = 0
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        while not self._done and (n < 0 or len(self._buffer) < n):
            chunk = asyncio.run_coroutine_threadsafe(self._next(), self._loop).result()
            if chunk is None:
                self._done = True
                break
            self.size += len(chunk)
            if self.size > self._max_size:
                raise ObjectTooLarge(self._max_size)
            self.sha256.update(chunk)
            self._buffer += chunk
        take = len(self._buffer) if n < 0 else min(n, len(self._buffer))
        out = bytes(self._buffer[:take])
        del self._buffer[:take]
        return out

    def release(self) -> None:
        """Drop what is buffered (the upload failed)."""
        self._buffer = bytearray()

    async def _next(self) -> bytes | None:
        try:
            return await anext(self._chunks)
        except StopAsyncIteration:
            return None


async def _first(chunks: AsyncIterator[bytes], limit: int, max_size: int) -> tuple[bytearray, bool]:
    """The stream's bytes until it ends or passes `limit`; whether it ended. Raises
    ObjectTooLarge past `max_size`, and whatever the stream raises (a refused file) before
    anything reached the store."""
    head = bytearray()
    async for chunk in chunks:
        head += chunk
        if len(head) > max_size:
            raise ObjectTooLarge(max_size)
        if len(head) >= limit:
            return head, False
    return head, True


async def _after(head: bytearray, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield bytes(head)
    async for chunk in chunks:
        yield chunk


class MinioObjectStore:
    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        *,
        secure: bool = False,
        region: str = "us-east-1",
    ) -> None:
        # The client's own pool, but with timeouts a person can wait for (see above).
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT),
            maxsize=10,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            retries=urllib3.Retry(
                total=5, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]
            ),
        )
        self.client = Minio(
            endpoint, access_key=access_key, secret_key=secret_key, secure=secure,
            region=region, http_client=http,
        )  # fmt: skip
        # For the one PUT of a small file, sent here rather than by the client (`_put_signed`).
        self._http = http
        self._base_url = BaseURL(("https://" if secure else "http://") + endpoint, region)
        self._region = region
        self._credentials = Credentials(access_key, secret_key)

    async def put_stream(
        self,
        bucket: str,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str,
        max_size: int,
    ) -> StoredObject:
        head, ended = await _first(chunks, WHOLE_BELOW, max_size)
        if ended:
            return await self._put_whole(bucket, key, head, content_type)
        reader = _HashingReader(_after(head, chunks), asyncio.get_running_loop(), max_size)
        try:
            await asyncio.to_thread(
                self.client.put_object,
                bucket,
                key,
                cast(BinaryIO, reader),
                length=-1,
                part_size=PART_SIZE,
                # One part in flight per upload: memory per upload is one part (plus the
                # client's copy of it), whatever the file's size.
                num_parallel_uploads=1,
                content_type=content_type,
            )
        except BaseException as error:
            # The failed upload's frames (the client's, in its thread) hold its part buffers,
            # 5 MiB each, for as long as the exception lives: free them now, not after the
            # clean-up below, which may wait for a thread behind other uploads.
            traceback.clear_frames(error.__traceback__)
            reader.release()
            # Too large, cut short, refused by a content check: the client aborts its
            # multipart upload on error and a single-part upload never started. Removing
            # the key covers both, so nothing partial stays.
            await self._discard(bucket, key, error)
            raise
        return StoredObject(bucket, key, reader.size, reader.sha256.hexdigest(), content_type)

    async def _put_whole(
        self, bucket: str, key: str, data: bytearray, content_type: str
    ) -> StoredObject:
        """A file read whole: hashed and sent in one PUT, from one worker thread (hashing
        256 KiB on the event loop held every other request behind it)."""
        try:
            digest = await asyncio.to_thread(self._put_signed, bucket, key, data, content_type)
        except BaseException as error:
            await self._discard(bucket, key, error)  # as for a streamed upload
            raise
        return StoredObject(bucket, key, len(data), digest, content_type)

    def _put_signed(self, bucket: str, key: str, data: bytearray, content_type: str) -> str:
        """PUT `data` signed with its SHA-256, hashed once here; returns the digest.

        The MinIO client would hash the body again for the signature (SHA-256 over plain
        HTTP; an MD5 for Content-MD5 over HTTPS), and copy it: with the digest we keep for
        the attachment in the signature instead, the store checks the body it received
        against it and refuses the PUT if they differ (`XAmzContentSHA256Mismatch`), so
        what is stored is what was hashed, over either transport."""
        digest = hashlib.sha256(data).hexdigest()
        self._put_with_digest(bucket, key, data, digest, content_type)
        return digest

    def _put_with_digest(
        self, bucket: str, key: str, data: bytearray, sha256: str, content_type: str
    ) -> None:
        url = self._base_url.build(
            method="PUT", region=self._region, bucket_name=bucket, object_name=key
        )
        date = amz_time.utcnow()
        headers = sign_v4_s3(
            method="PUT", url=url, region=self._region, credentials=self._credentials,
            content_sha256=sha256, date=date,
            headers={
                "Host": url.netloc, "Content-Type": content_type,
                "Content-Length": str(len(data)), "x-amz-content-sha256": sha256,
                "x-amz-date": amz_time.to_amz_date(date),
            },
        )  # fmt: skip
        # The pool's retries (connection errors, 5xx) resend the same bytes: the body is
        # in memory, and the signature stays valid for minutes.
        response = self._http.urlopen("PUT", urlunsplit(url), body=data, headers=headers)
        if response.status == 200:
            return
        if "xml" in response.headers.get("content-type", ""):
            raise S3Error.fromxml(response)
        raise InvalidResponseError(
            response.status, response.headers.get("content-type"), response.data.decode()
        )

    async def _discard(self, bucket: str, key: str, error: BaseException) -> None:
        """Remove what a failed upload may have left. Not when the store is away: the
        removal would only fail too, after as many retries, keeping the citizen waiting
        for a 503; whatever it may have kept has no row, and the bucket owner's orphan
        sweeper removes it. A failed removal leaves the upload's own error to raise."""
        if unavailable(error):
            return
        try:
            await self.remove(bucket, key)
        except Exception:
            log.warning("could not remove a failed upload", extra={"key": key})

    async def get_bytes(self, bucket: str, key: str) -> bytes:
        def _get() -> bytes:
            response = self.client.get_object(bucket, key)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

        return await asyncio.to_thread(_get)

    async def remove(self, bucket: str, key: str) -> None:
        await asyncio.to_thread(self.client.remove_object, bucket, key)

    async def exists(self, bucket: str, key: str) -> bool:
        try:
            await asyncio.to_thread(self.client.stat_object, bucket, key)
        except S3Error as exc:
            if exc.code in {"NoSuchKey", "NoSuchObject", "NotFound"}:
                return False
            raise
        return True

    def presigned_get(self, bucket: str, key: str, expires: timedelta) -> str:
        """A time-limited link for a person's browser; signing is local, no round trip."""
        return self.client.presigned_get_object(bucket, key, expires=expires)

    async def ensure_buckets(self, *buckets: str) -> None:
        for bucket in buckets:
            if not await asyncio.to_thread(self.client.bucket_exists, bucket):
                try:
                    await asyncio.to_thread(self.client.make_bucket, bucket)
                except S3Error as exc:
                    # Replicas starting at once all find it missing; one creates it and
                    # the others are told it exists: for them it is there, as wanted.
                    if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise

    async def ping(self, bucket: str | None = None) -> None:
        """The store answers an authenticated request (and has `bucket`, if given)."""
        exists = await asyncio.to_thread(self.client.bucket_exists, bucket or "dvc-ping")
        if bucket and not exists:
            raise LookupError(f"bucket {bucket} is missing")

    async def listing(
        self, bucket: str, *, before: datetime, batch: int = 1000
    ) -> AsyncIterator[list[str]]:
        """The keys of `bucket` last modified before `before`, from pages of `batch`
        objects (the store pages its listing; each page is read in a worker thread)."""
        objects = iter(self.client.list_objects(bucket, recursive=True))

        def page() -> tuple[list[str], int]:
            read = list(itertools.islice(objects, batch))
            old = [
                str(o.object_name)
                for o in read
                if o.last_modified is not None and o.last_modified < before
            ]
            return old, len(read)

        while True:
            keys, read = await asyncio.to_thread(page)
            if keys:
                yield keys
            if read < batch:
                return
