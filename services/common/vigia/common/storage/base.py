"""The object-store contract shared by every backend: value types, errors and name rules.

Names are checked here, once, so both backends accept and refuse exactly the same buckets, keys
and content types (the contract test suite runs over both).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO, Protocol, runtime_checkable

DEFAULT_CONTENT_TYPE = "application/octet-stream"
MAX_KEY_BYTES = 1024
MAX_SEGMENT_BYTES = 255  # a key segment becomes a file name in the file store
MAX_PRESIGN = timedelta(days=7)  # the longest S3 SigV4 allows; the file store follows suit

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_TOKEN = r"[A-Za-z0-9!#$&^_.+-]+"
_CONTENT_TYPE = re.compile(rf'^{_TOKEN}/{_TOKEN}(\s*;\s*{_TOKEN}=({_TOKEN}|"[^"\x00-\x1f\x7f]*"))*$')


class StorageError(Exception):
    """Base of every object-store error; also raised as-is when the backend fails or is unreachable."""


class ObjectNotFound(StorageError, LookupError):
    """The object (or its bucket) does not exist."""

    def __init__(self, bucket: str, key: str) -> None:
        super().__init__(f"no object {key!r} in bucket {bucket!r}")
        self.bucket = bucket
        self.key = key


class InvalidKey(StorageError, ValueError):
    """A bucket name, key or content type was refused; ``field`` names which, for 4xx bodies."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class ObjectInfo:
    """What a store knows about one object.

    ``etag`` and ``content_type`` are always set by :meth:`ObjectStore.stat` and
    :meth:`ObjectStore.put`; listings may leave them ``None`` (ask ``stat`` for them).
    ``modified`` is timezone-aware UTC.
    """

    bucket: str
    key: str
    size: int
    modified: datetime
    etag: str | None = None
    content_type: str | None = None


@runtime_checkable
class ObjectStore(Protocol):
    """Buckets of immutable blobs addressed by ``(bucket, key)``.

    ``bucket`` is a logical name (``snapshots``, ``evidence``, ``models``); a backend may map it to
    a physical name (the S3 store prefixes it). Keys are ``/``-separated paths without empty,
    ``.`` or ``..`` segments. Every method raises :class:`InvalidKey` for a refused name before
    touching storage, :class:`ObjectNotFound` for a missing object and :class:`StorageError` when
    the backend fails.
    """

    def put(self, bucket: str, key: str, data: bytes | BinaryIO,
            content_type: str = DEFAULT_CONTENT_TYPE) -> ObjectInfo:
        """Store ``data`` (bytes or a binary file object read to its end) under ``key``, replacing
        any previous object at once: readers see the old or the new object, never a mix."""
        ...

    def get(self, bucket: str, key: str) -> bytes:
        """The whole object."""
        ...

    def stream(self, bucket: str, key: str, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        """The object in chunks. A missing object raises here, before iteration starts."""
        ...

    def stat(self, bucket: str, key: str) -> ObjectInfo:
        """Size, etag, content type and modification time, without the content."""
        ...

    def delete(self, bucket: str, key: str) -> None:
        """Remove the object; removing a missing object (or bucket) is not an error."""
        ...

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, in key order (UTF-8 bytes), across
        as many backend pages as it takes. A missing bucket lists nothing."""
        ...

    def presigned_url(self, bucket: str, key: str, expires: timedelta = timedelta(hours=1),
                      method: str = "GET") -> str:
        """A URL that lets its bearer GET the object until ``expires`` from now (≤ 7 days)."""
        ...

    def ensure_bucket(self, bucket: str, lifecycle_days: int | None = None) -> None:
        """Create the bucket if missing and make its expiry rule ``lifecycle_days`` (None: keep
        objects forever, removing any rule). Idempotent."""
        ...

    def lifecycle_days(self, bucket: str) -> int | None:
        """The bucket's expiry rule in days, or None when it has none."""
        ...

    def ping(self) -> bool:
        """True when the backend answers (a readiness check)."""
        ...


def check_bucket(bucket: object) -> str:
    """Return ``bucket`` if it is a valid logical bucket name (S3 rules: 3-63 of a-z 0-9 -)."""
    if not isinstance(bucket, str) or not _BUCKET.match(bucket):
        raise InvalidKey("bucket", "must be 3-63 characters of a-z, 0-9 and '-', starting and ending "
                         "with a letter or digit")
    return bucket


def check_key(key: object, field: str = "key") -> str:
    """Return ``key`` if it is a valid object key.

    Refused: empty, over 1024 UTF-8 bytes, absolute (leading ``/``), backslashes, NUL or other
    control characters, and empty, ``.`` or ``..`` segments (so no key can escape its bucket).
    """
    if not isinstance(key, str) or not key:
        raise InvalidKey(field, "must be a non-empty string")
    encoded = key.encode("utf-8", "surrogatepass")
    if len(encoded) > MAX_KEY_BYTES:
        raise InvalidKey(field, f"must be at most {MAX_KEY_BYTES} bytes")
    if any(ord(c) < 0x20 or ord(c) == 0x7F or 0xD800 <= ord(c) <= 0xDFFF for c in key):
        raise InvalidKey(field, "must not contain NUL, control characters or lone surrogates")
    if key.startswith("/"):
        raise InvalidKey(field, "must be relative (no leading '/')")
    if "\\" in key:
        raise InvalidKey(field, "must not contain backslashes")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidKey(field, "must not contain empty, '.' or '..' segments")
        if len(segment.encode()) > MAX_SEGMENT_BYTES:
            raise InvalidKey(field, f"segments must be at most {MAX_SEGMENT_BYTES} bytes")
    return key


def check_prefix(prefix: object) -> str:
    """Return ``prefix`` if it can start a key: '' lists everything; every complete segment (before
    the last '/') follows the key rules, the last, partial one only the character rules."""
    if prefix == "":
        return ""
    if not isinstance(prefix, str):
        raise InvalidKey("prefix", "must be a string")
    head, _, tail = prefix.rpartition("/")
    if head or prefix.startswith("/"):
        check_key(head if head else "/", field="prefix")
    if tail:
        check_key("x" + tail, field="prefix")  # characters only: a partial segment may be '.' or '..'
    if len(prefix.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidKey("prefix", f"must be at most {MAX_KEY_BYTES} bytes")
    return prefix


def check_content_type(content_type: object) -> str:
    """Return ``content_type`` if it is a plain media type (no CR/LF: it becomes a header)."""
    if not isinstance(content_type, str) or len(content_type) > 255 or not _CONTENT_TYPE.match(
            content_type):
        raise InvalidKey("content_type", "must be a media type such as 'image/jpeg'")
    return content_type


def check_expiry(expires: timedelta, method: str) -> timedelta:
    """Validate a presigned URL's lifetime and method."""
    if method != "GET":
        raise InvalidKey("method", "only GET URLs can be presigned")
    if not isinstance(expires, timedelta) or not timedelta(seconds=1) <= expires <= MAX_PRESIGN:
        raise InvalidKey("expires", "must be between 1 second and 7 days")
    return expires


def check_lifecycle_days(days: int | None) -> int | None:
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 1):
        raise InvalidKey("lifecycle_days", "must be a positive number of days or None")
    return days
