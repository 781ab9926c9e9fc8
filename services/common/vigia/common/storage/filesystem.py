"""The local-filesystem object store: the embedded default (``file://<dir>``).

Layout under the root, one directory per bucket::

    <root>/<bucket>/objects/<key>   the bytes (key segments are directories)
    <root>/<bucket>/meta/<key>      JSON: content type, etag (MD5), size
    <root>/<bucket>/tmp/            writes in progress (same file system, so os.replace is atomic)
    <root>/<bucket>/bucket.json     the bucket's lifecycle rule

Writes go to a temporary file that replaces the target with ``os.replace``, so a reader sees the
old object or the new one, never a torn one. Because key segments are directories, the keys
``a`` and ``a/b`` cannot both exist here (S3 allows it): the second is refused with
:class:`InvalidKey`. Vigia's keys (``<org>/<camera>/<date>/<id>.jpg``) never collide this way.

Presigned URLs are local, HMAC-SHA256-signed paths ``/objects/<bucket>/<key>?expires=&sig=`` that
the serving route checks with :func:`verify_signed_url`. Lifecycle rules are recorded per bucket
and enforced by :meth:`FileStore.expire`, which the watchdog's janitor calls periodically
(``vigia.watchdog.janitor.ObjectLifecycle``); S3 buckets need no janitor: the server expires them.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qs, quote, unquote, urlsplit

import orjson

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

URL_MOUNT = "/objects/"
_CHUNK = 1024 * 1024
_STALE_TMP = timedelta(hours=1)


class SignedUrlError(ValueError):
    """A local object URL was refused: malformed, tampered with, or expired."""


def _signature(secret: bytes, method: str, bucket: str, key: str, expires: int) -> str:
    message = f"{method}\n{bucket}\n{key}\n{expires}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _secret_bytes(secret: str | bytes) -> bytes:
    raw = secret.encode() if isinstance(secret, str) else secret
    if len(raw) < 16:  # a short key makes every signed URL guessable offline
        raise ValueError("the object URL secret must be at least 16 bytes")
    return raw


def sign_url(secret: str | bytes, bucket: str, key: str, expires_at: int, base_url: str = "") -> str:
    """The signed local URL of ``bucket``/``key`` valid until the Unix time ``expires_at``."""
    sig = _signature(_secret_bytes(secret), "GET", check_bucket(bucket), check_key(key), expires_at)
    return f"{base_url.rstrip('/')}{URL_MOUNT}{bucket}/{quote(key, safe='/')}?expires={expires_at}&sig={sig}"


def verify_signed_url(url: str, secret: str | bytes, *, method: str = "GET",
                      now: datetime | None = None) -> tuple[str, str]:
    """Check a URL made by :meth:`FileStore.presigned_url`; return its ``(bucket, key)``.

    ``url`` may be absolute or just the path and query the serving route received. Raises
    :class:`SignedUrlError` when it is malformed, its signature does not match (any change to the
    bucket, key or expiry breaks it) or it has expired.
    """
    parts = urlsplit(url)
    if not parts.path.startswith(URL_MOUNT):
        raise SignedUrlError(f"path must start with {URL_MOUNT}")
    bucket, _, quoted_key = parts.path[len(URL_MOUNT):].partition("/")
    key = unquote(quoted_key, errors="strict")
    try:
        check_bucket(bucket)
        check_key(key)
    except InvalidKey as exc:
        raise SignedUrlError(str(exc)) from None
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    expires_values, sig_values = query.get("expires", []), query.get("sig", [])
    if len(expires_values) != 1 or len(sig_values) != 1 or not expires_values[0].isdigit():
        raise SignedUrlError("expires and sig must each appear once")
    expires_at = int(expires_values[0])
    expected = _signature(_secret_bytes(secret), method, bucket, key, expires_at)
    if not hmac.compare_digest(expected.encode(), sig_values[0].encode()):
        raise SignedUrlError("signature does not match")
    current = (now or datetime.now(UTC)).timestamp()
    if current > expires_at:
        raise SignedUrlError("URL has expired")
    return bucket, key


class FileStore:
    """An :class:`~vigia.common.storage.base.ObjectStore` on a local directory."""

    def __init__(self, root: str | os.PathLike[str], url_secret: str | bytes, base_url: str = "") -> None:
        self.root = Path(root).absolute()
        self._secret = _secret_bytes(url_secret)
        self.base_url = base_url

    def __repr__(self) -> str:
        return f"FileStore({str(self.root)!r})"

    # -- paths ---------------------------------------------------------------------------------

    def _bucket_dir(self, bucket: str) -> Path:
        return self.root / check_bucket(bucket)

    def _paths(self, bucket: str, key: str) -> tuple[Path, Path, Path]:
        """(object path, metadata path, tmp dir); refuses keys that would leave the bucket."""
        base = self._bucket_dir(bucket)
        check_key(key)
        data, meta = base / "objects" / key, base / "meta" / key
        # The key rules already forbid '..' and absolute keys; this also catches symlinks
        # planted inside the store that point elsewhere.
        objects_real = os.path.realpath(base / "objects")
        if os.path.commonpath([objects_real, os.path.realpath(data)]) != objects_real:
            raise InvalidKey("key", "resolves outside its bucket")
        return data, meta, base / "tmp"

    # -- the contract --------------------------------------------------------------------------

    def put(self, bucket: str, key: str, data: bytes | BinaryIO,
            content_type: str = DEFAULT_CONTENT_TYPE) -> ObjectInfo:
        path, meta_path, tmp_dir = self._paths(bucket, key)
        check_content_type(content_type)
        tmp_dir.mkdir(parents=True, exist_ok=True)
        md5 = hashlib.md5(usedforsecurity=False)  # S3-compatible etag, not a security check
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="put-")
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(data, bytes | bytearray | memoryview):
                    chunk = bytes(data)
                    out.write(chunk)
                    md5.update(chunk)
                    size = len(chunk)
                else:
                    while chunk := data.read(_CHUNK):
                        out.write(chunk)
                        md5.update(chunk)
                        size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            etag = md5.hexdigest()
            meta = orjson.dumps({"content_type": content_type, "etag": etag, "size": size})
            self._install(tmp_name, path, tmp_dir, key)
            tmp_name = ""
            self._write_atomic(meta_path, meta, tmp_dir, key)
        finally:
            if tmp_name:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp_name)
        modified = datetime.fromtimestamp(path.stat().st_mtime_ns / 1e9, UTC)
        return ObjectInfo(bucket, key, size, modified, etag, content_type)

    def get(self, bucket: str, key: str) -> bytes:
        path, _, _ = self._paths(bucket, key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(bucket, key) from None

    def stream(self, bucket: str, key: str, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        path, _, _ = self._paths(bucket, key)
        try:
            handle = path.open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(bucket, key) from None

        def chunks() -> Iterator[bytes]:
            with handle:
                while chunk := handle.read(chunk_size):
                    yield chunk

        return chunks()

    def stat(self, bucket: str, key: str) -> ObjectInfo:
        path, meta_path, _ = self._paths(bucket, key)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFound(bucket, key) from None
        if not path.is_file():
            raise ObjectNotFound(bucket, key)
        try:
            meta = orjson.loads(meta_path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            meta = {}
        if meta.get("size") != st.st_size:
            # Metadata from a concurrent or interrupted write: describe the bytes actually there.
            meta = {"content_type": DEFAULT_CONTENT_TYPE, "etag": _md5_of(path)}
        return ObjectInfo(bucket, key, st.st_size, datetime.fromtimestamp(st.st_mtime_ns / 1e9, UTC),
                          meta["etag"], meta["content_type"])

    def delete(self, bucket: str, key: str) -> None:
        path, meta_path, _ = self._paths(bucket, key)
        objects = self._bucket_dir(bucket) / "objects"
        for target, top in ((path, objects), (meta_path, objects.parent / "meta")):
            try:
                target.unlink()
            except (FileNotFoundError, NotADirectoryError):
                continue
            except IsADirectoryError:
                return  # 'key' is only a prefix of other keys: there is no such object
            _prune_empty_dirs(target.parent, top)

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        check_prefix(prefix)
        objects = self._bucket_dir(bucket) / "objects"
        # Walk only the deepest directory the prefix names completely, then filter and sort:
        # S3 orders keys by UTF-8 bytes, which a directory walk does not ('a-b' < 'a/b').
        start = objects / prefix.rpartition("/")[0] if "/" in prefix else objects
        found: list[tuple[bytes, str, os.stat_result]] = []
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, objects)
            for name in filenames:
                key = name if rel_dir == "." else f"{rel_dir}/{name}"
                if key.startswith(prefix):
                    with contextlib.suppress(FileNotFoundError):
                        found.append((key.encode(), key, os.stat(os.path.join(dirpath, name))))
        found.sort(key=lambda item: item[0])
        for _, key, st in found:
            yield ObjectInfo(bucket, key, st.st_size, datetime.fromtimestamp(st.st_mtime_ns / 1e9, UTC))

    def presigned_url(self, bucket: str, key: str, expires: timedelta = timedelta(hours=1),
                      method: str = "GET") -> str:
        check_expiry(expires, method)
        expires_at = int(time.time() + expires.total_seconds())
        return sign_url(self._secret, bucket, key, expires_at, self.base_url)

    def verify_url(self, url: str, now: datetime | None = None) -> tuple[str, str]:
        """:func:`verify_signed_url` with this store's secret."""
        return verify_signed_url(url, self._secret, now=now)

    def ensure_bucket(self, bucket: str, lifecycle_days: int | None = None) -> None:
        check_lifecycle_days(lifecycle_days)
        base = self._bucket_dir(bucket)
        for sub in ("objects", "meta", "tmp"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        self._write_atomic(base / "bucket.json", orjson.dumps({"lifecycle_days": lifecycle_days}),
                           base / "tmp", "bucket.json")

    def lifecycle_days(self, bucket: str) -> int | None:
        try:
            config = orjson.loads((self._bucket_dir(bucket) / "bucket.json").read_bytes())
        except FileNotFoundError:
            return None
        days = config.get("lifecycle_days")
        return days if isinstance(days, int) else None

    def ping(self) -> bool:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError:
            return False
        return os.access(self.root, os.W_OK)

    # -- janitor -------------------------------------------------------------------------------

    def expire(self, now: datetime | None = None) -> int:
        """Delete every object older than its bucket's lifecycle rule, and temporary files left
        by interrupted writes; returns how many objects were deleted."""
        now = now or datetime.now(UTC)
        deleted = 0
        if not self.root.is_dir():
            return 0
        for base in sorted(p for p in self.root.iterdir() if p.is_dir()):
            try:
                bucket = check_bucket(base.name)
            except InvalidKey:
                continue
            for leftover in (base / "tmp").glob("*"):
                with contextlib.suppress(FileNotFoundError):
                    if now - datetime.fromtimestamp(leftover.stat().st_mtime, UTC) > _STALE_TMP:
                        leftover.unlink()
            days = self.lifecycle_days(bucket)
            if days is None:
                continue
            cutoff = (now - timedelta(days=days)).timestamp()
            objects = base / "objects"
            # One walk, deleting as it goes: a 30-day snapshot bucket is too big to list and sort.
            for dirpath, _, filenames in os.walk(objects):
                for name in filenames:
                    with contextlib.suppress(FileNotFoundError, InvalidKey):  # gone, or not put by us
                        if os.stat(os.path.join(dirpath, name)).st_mtime < cutoff:
                            rel_dir = os.path.relpath(dirpath, objects)
                            self.delete(bucket, name if rel_dir == "." else f"{rel_dir}/{name}")
                            deleted += 1
        return deleted

    # -- helpers -------------------------------------------------------------------------------

    def _install(self, tmp_name: str, target: Path, tmp_dir: Path, key: str) -> None:
        """Move a finished temporary file onto ``target``, creating its directories."""
        for _ in range(5):  # a concurrent delete may prune the directory we just created
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp_name, target)
                return
            except FileNotFoundError:
                if not os.path.exists(tmp_name):
                    raise
                continue
            except (NotADirectoryError, FileExistsError, IsADirectoryError):
                raise InvalidKey("key", f"{key!r} conflicts with an existing key (a key cannot also "
                                 "be the prefix directory of other keys in the file store)") from None
        raise StorageError(f"could not install {key!r}: its directory keeps disappearing")

    def _write_atomic(self, target: Path, content: bytes, tmp_dir: Path, key: str) -> None:
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="meta-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
            self._install(tmp_name, target, tmp_dir, key)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise


def _md5_of(path: Path) -> str:
    md5 = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            md5.update(chunk)
    return md5.hexdigest()


def _prune_empty_dirs(directory: Path, top: Path) -> None:
    """Remove now-empty directories from ``directory`` up to (not including) ``top``."""
    while directory != top and top in directory.parents:
        try:
            directory.rmdir()
        except OSError:  # not empty, or already gone: stop climbing
            return
        directory = directory.parent
