"""Object storage for snapshots, evidence bundles and models: one interface, two backends.

:func:`open_store` picks the backend from the ``object_store`` setting:

* ``file://<dir>`` — :class:`FileStore`, the embedded default: one directory per bucket under
  ``<dir>`` (relative to the working directory, or absolute with ``file:///abs/dir``); presigned
  URLs are local ``/objects/<bucket>/<key>?expires=&sig=`` paths signed with
  ``VIGIA_OBJECT_URL_SECRET`` and checked by :func:`verify_signed_url`.
* ``s3://<bucket-prefix>`` — :class:`S3Store` on MinIO or any S3 API (``VIGIA_S3_*`` settings);
  the logical bucket ``snapshots`` lives in the S3 bucket ``<prefix>-snapshots``.

The logical buckets are :data:`BUCKETS`; :func:`ensure_default_buckets` creates them with their
lifecycle rules (snapshots expire after 30 days).
"""

from __future__ import annotations

from vigia.common.settings import CommonSettings
from vigia.common.storage.base import (
    DEFAULT_CONTENT_TYPE,
    InvalidKey,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    StorageError,
)
from vigia.common.storage.filesystem import FileStore, SignedUrlError, verify_signed_url
from vigia.common.storage.s3 import S3Store

__all__ = [
    "BUCKETS",
    "DEFAULT_CONTENT_TYPE",
    "FileStore",
    "InvalidKey",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "S3Store",
    "SignedUrlError",
    "StorageError",
    "ensure_default_buckets",
    "open_store",
    "verify_signed_url",
]

BUCKETS: dict[str, int | None] = {"snapshots": 30, "evidence": None, "models": None}
"""Vigia's logical buckets and their lifecycle in days (None: kept until deleted)."""


def open_store(url: str, settings: CommonSettings) -> ObjectStore:
    """The object store named by ``url`` (``file://…`` or ``s3://…``), configured from ``settings``.

    Opening touches nothing: buckets are created by :func:`ensure_default_buckets`.
    """
    if url.startswith("file://"):
        root = url[len("file://"):]
        if not root:
            raise ValueError("object_store: file:// needs a directory, e.g. file://var/objects")
        return FileStore(root, settings.object_url_secret.get_secret_value())
    if url.startswith("s3://"):
        prefix = url[len("s3://"):].strip("/")
        return S3Store(settings.s3_endpoint, settings.s3_access_key,
                       settings.s3_secret_key.get_secret_value(), prefix=prefix,
                       region=settings.s3_region, secure=settings.s3_secure)
    raise ValueError(f"object_store: unsupported URL {url!r}; use file://<dir> or s3://<bucket-prefix>")


def ensure_default_buckets(store: ObjectStore) -> None:
    """Create Vigia's buckets with their lifecycle rules (idempotent)."""
    for bucket, days in BUCKETS.items():
        store.ensure_bucket(bucket, lifecycle_days=days)
