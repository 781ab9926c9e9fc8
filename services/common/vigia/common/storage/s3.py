"""The S3 object store (MinIO or any S3 API) through the ``minio`` SDK (``s3://<bucket-prefix>``).

Logical buckets map to physical ones as ``<prefix>-<name>``: ``s3://vigia`` stores snapshots in
the bucket ``vigia-snapshots``; a prefix that already ends in ``-`` or ``.`` is used as is, and
``s3://`` (no prefix) uses the logical names themselves. Lifecycle rules are real S3 lifecycle
configurations (one expiration rule over the whole bucket), enforced by the server.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import BinaryIO, cast

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import ENABLED, Filter
from minio.error import MinioException, S3Error
from minio.lifecycleconfig import Expiration, LifecycleConfig, Rule

from vigia.common.storage.base import (
    DEFAULT_CONTENT_TYPE,
    InvalidKey,
    ObjectInfo,
    ObjectNotFound,
    StorageError,
    check_bucket,
    check_content_type,
    check_expiry,
    check_key,
    check_lifecycle_days,
    check_prefix,
)

RULE_ID = "vigia-expire"
_MISSING = frozenset({"NoSuchKey", "NoSuchBucket", "NoSuchObject", "ResourceNotFound"})
_PART_SIZE = 16 * 1024 * 1024  # for streams of unknown length: S3 needs parts of at least 5 MiB


class _CountingReader(io.RawIOBase):
    """Wraps a file object and counts the bytes minio reads from it."""

    def __init__(self, inner: BinaryIO) -> None:
        self.inner = inner
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self.inner.read(size)
        self.count += len(chunk)
        return chunk


class S3Store:
    """An :class:`~vigia.common.storage.base.ObjectStore` on an S3 API."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str, *, prefix: str = "",
                 region: str = "us-east-1", secure: bool = False) -> None:
        # minio's default pool waits up to 5 minutes per request; a readiness check cannot.
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=5, read=60), maxsize=16, cert_reqs="CERT_REQUIRED",
            ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
            retries=urllib3.Retry(total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
        )
        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key, region=region,
                            secure=secure, http_client=http)
        self.prefix = prefix if not prefix or prefix.endswith(("-", ".")) else prefix + "-"
        self.endpoint = endpoint

    def __repr__(self) -> str:
        return f"S3Store({self.endpoint!r}, prefix={self.prefix!r})"

    def physical_bucket(self, bucket: str) -> str:
        """The S3 bucket that holds the logical ``bucket``."""
        name = self.prefix + check_bucket(bucket)
        if len(name) > 63:
            raise InvalidKey("bucket", f"{name!r} (prefix + name) is longer than 63 characters")
        return name

    def _target(self, bucket: str, key: str) -> str:
        physical = self.physical_bucket(bucket)
        check_key(key)
        return physical

    # -- the contract --------------------------------------------------------------------------

    def put(self, bucket: str, key: str, data: bytes | BinaryIO,
            content_type: str = DEFAULT_CONTENT_TYPE) -> ObjectInfo:
        physical = self._target(bucket, key)
        check_content_type(content_type)
        with _errors(bucket, key):
            if isinstance(data, bytes | bytearray | memoryview):
                size = len(data)
                result = self.client.put_object(physical, key, io.BytesIO(bytes(data)), size,
                                                content_type=content_type)
            else:
                reader = _CountingReader(data)
                result = self.client.put_object(physical, key, cast(BinaryIO, reader), -1,
                                                content_type=content_type, part_size=_PART_SIZE)
                size = reader.count
        modified = result.last_modified or datetime.now(UTC)
        return ObjectInfo(bucket, key, size, modified, _etag(result.etag), content_type)

    def get(self, bucket: str, key: str) -> bytes:
        return b"".join(self.stream(bucket, key, chunk_size=1024 * 1024))

    def stream(self, bucket: str, key: str, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        physical = self._target(bucket, key)
        with _errors(bucket, key):
            response = self.client.get_object(physical, key)

        def chunks() -> Iterator[bytes]:
            try:
                with _errors(bucket, key):
                    yield from response.stream(chunk_size)
            finally:
                response.close()
                response.release_conn()

        return chunks()

    def stat(self, bucket: str, key: str) -> ObjectInfo:
        physical = self._target(bucket, key)
        with _errors(bucket, key):
            st = self.client.stat_object(physical, key)
        return ObjectInfo(bucket, key, st.size or 0, _aware(st.last_modified), _etag(st.etag),
                          st.content_type or DEFAULT_CONTENT_TYPE)

    def delete(self, bucket: str, key: str) -> None:
        physical = self._target(bucket, key)
        try:
            self.client.remove_object(physical, key)
        except S3Error as exc:
            if exc.code not in _MISSING:
                raise StorageError(f"delete {bucket}/{key}: {exc.code}: {exc.message}") from exc
        except (MinioException, urllib3.exceptions.HTTPError) as exc:
            raise StorageError(f"delete {bucket}/{key}: {exc}") from exc

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        check_prefix(prefix)
        physical = self.physical_bucket(bucket)
        # minio follows continuation tokens itself: this walks every page of 1000.
        objects = self.client.list_objects(physical, prefix=prefix or None, recursive=True)
        try:
            for obj in objects:
                if obj.is_dir or obj.object_name is None:
                    continue
                yield ObjectInfo(bucket, obj.object_name, obj.size or 0, _aware(obj.last_modified),
                                 _etag(obj.etag))
        except S3Error as exc:
            if exc.code != "NoSuchBucket":
                raise StorageError(f"list {bucket}/{prefix}: {exc.code}: {exc.message}") from exc
        except (MinioException, urllib3.exceptions.HTTPError) as exc:
            raise StorageError(f"list {bucket}/{prefix}: {exc}") from exc

    def presigned_url(self, bucket: str, key: str, expires: timedelta = timedelta(hours=1),
                      method: str = "GET") -> str:
        check_expiry(expires, method)
        physical = self._target(bucket, key)
        with _errors(bucket, key):
            return self.client.get_presigned_url(method, physical, key, expires=expires)

    def ensure_bucket(self, bucket: str, lifecycle_days: int | None = None) -> None:
        check_lifecycle_days(lifecycle_days)
        physical = self.physical_bucket(bucket)
        try:
            if not self.client.bucket_exists(physical):
                try:
                    self.client.make_bucket(physical)
                except S3Error as exc:  # another process created it first
                    if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise
            if lifecycle_days is None:
                self.client.delete_bucket_lifecycle(physical)
            else:
                rule = Rule(ENABLED, rule_filter=Filter(prefix=""), rule_id=RULE_ID,
                            expiration=Expiration(days=lifecycle_days))
                self.client.set_bucket_lifecycle(physical, LifecycleConfig([rule]))
        except (MinioException, urllib3.exceptions.HTTPError) as exc:
            raise StorageError(f"ensure bucket {physical}: {exc}") from exc

    def lifecycle_days(self, bucket: str) -> int | None:
        physical = self.physical_bucket(bucket)
        try:
            config = self.client.get_bucket_lifecycle(physical)
        except S3Error as exc:
            if exc.code in ("NoSuchLifecycleConfiguration", "NoSuchBucket"):
                return None
            raise StorageError(f"lifecycle of {physical}: {exc.code}: {exc.message}") from exc
        except (MinioException, urllib3.exceptions.HTTPError) as exc:
            raise StorageError(f"lifecycle of {physical}: {exc}") from exc
        if config is None:
            return None
        for rule in config.rules:
            if rule.status == ENABLED and rule.expiration is not None and rule.expiration.days:
                return int(rule.expiration.days)
        return None

    def ping(self) -> bool:
        try:
            self.client.list_buckets()
        except (MinioException, urllib3.exceptions.HTTPError):
            return False
        return True


class _errors:
    """Translate minio's errors: missing objects or buckets to ObjectNotFound, the rest to
    StorageError, so callers handle one family whatever the backend."""

    def __init__(self, bucket: str, key: str) -> None:
        self.bucket, self.key = bucket, key

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, S3Error):
            if exc.code in _MISSING:
                raise ObjectNotFound(self.bucket, self.key) from None
            raise StorageError(f"{self.bucket}/{self.key}: {exc.code}: {exc.message}") from exc
        if isinstance(exc, MinioException | urllib3.exceptions.HTTPError):
            raise StorageError(f"{self.bucket}/{self.key}: {exc}") from exc


def _etag(value: str | None) -> str | None:
    return value.strip('"') if value else value


def _aware(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
