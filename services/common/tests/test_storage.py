"""The object-store contract, run over both backends: the file store on a temporary directory and
the S3 store talking real HTTP to a moto S3 server started for this module."""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.support.servers import s3_server
from vigia.common.settings import CommonSettings
from vigia.common.storage import (
    BUCKETS,
    FileStore,
    InvalidKey,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    S3Store,
    SignedUrlError,
    ensure_default_buckets,
    open_store,
    verify_signed_url,
)

SECRET = "test-object-url-secret-0123456789"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with s3_server() as endpoint:
        yield endpoint


def _settings(object_store: str, s3_endpoint: str = "127.0.0.1:9") -> CommonSettings:
    return CommonSettings(object_store=object_store, object_url_secret=SECRET, s3_endpoint=s3_endpoint,
                          s3_access_key="testing", s3_secret_key="testing", s3_region="us-east-1")


@pytest.fixture(params=["file", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "file":
        url = f"file://{tmp_path / 'objects'}"
        opened = open_store(url, _settings(url))
    else:
        url = f"s3://t{uuid.uuid4().hex[:12]}"  # a bucket prefix of its own per test
        opened = open_store(url, _settings(url, request.getfixturevalue("s3_endpoint")))
    ensure_default_buckets(opened)
    return opened


def _keys(infos: Iterator[ObjectInfo]) -> list[str]:
    return [info.key for info in infos]


# -- put / get / stat ------------------------------------------------------------------------


def test_put_then_get_returns_the_same_bytes_and_describes_them(store: ObjectStore) -> None:
    info = store.put("evidence", "org/cam/one.json", b'{"a":1}', content_type="application/json")

    assert store.get("evidence", "org/cam/one.json") == b'{"a":1}'
    assert (info.bucket, info.key, info.size) == ("evidence", "org/cam/one.json", 7)
    assert info.etag == hashlib.md5(b'{"a":1}').hexdigest()
    assert info.content_type == "application/json"


def test_stat_reports_size_etag_content_type_and_utc_modification_time(store: ObjectStore) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    store.put("snapshots", "a/b.jpg", b"\xff\xd8jpeg", content_type="image/jpeg")

    info = store.stat("snapshots", "a/b.jpg")

    assert info.size == 6
    assert info.etag == hashlib.md5(b"\xff\xd8jpeg").hexdigest()
    assert info.content_type == "image/jpeg"
    assert info.modified.tzinfo is not None
    assert before <= info.modified <= datetime.now(UTC) + timedelta(seconds=5)


def test_content_type_defaults_to_octet_stream(store: ObjectStore) -> None:
    store.put("evidence", "blob", b"x")
    assert store.stat("evidence", "blob").content_type == "application/octet-stream"


def test_every_byte_value_survives_a_round_trip(store: ObjectStore) -> None:
    data = bytes(range(256)) * 17 + b"\x00\r\n\x00"
    store.put("models", "bin/all-bytes", data)
    assert store.get("models", "bin/all-bytes") == data


def test_empty_object_is_stored(store: ObjectStore) -> None:
    store.put("evidence", "empty", b"")
    assert store.get("evidence", "empty") == b""
    assert store.stat("evidence", "empty").size == 0


def test_put_replaces_the_previous_object(store: ObjectStore) -> None:
    store.put("evidence", "k", b"old", content_type="text/plain")
    store.put("evidence", "k", b"newer", content_type="application/json")
    assert store.get("evidence", "k") == b"newer"
    assert store.stat("evidence", "k").content_type == "application/json"
    assert _keys(store.list("evidence")) == ["k"]


def test_put_reads_a_file_object_to_its_end_and_counts_its_size(store: ObjectStore) -> None:
    data = os.urandom(300_000)
    info = store.put("evidence", "from/file", io.BytesIO(data), content_type="application/zip")
    assert info.size == len(data)
    assert store.get("evidence", "from/file") == data
    assert store.stat("evidence", "from/file").size == len(data)


def test_unicode_keys_are_kept_exactly(store: ObjectStore) -> None:
    key = "são paulo/câmera 1/placa ABC1D23 #1.jpg"
    store.put("snapshots", key, b"x")
    assert store.get("snapshots", key) == b"x"
    assert _keys(store.list("snapshots", "são paulo/")) == [key]


@pytest.mark.slow
def test_large_object_round_trips_whole(store: ObjectStore) -> None:
    data = os.urandom(8 * 1024 * 1024 + 17)
    info = store.put("models", "yolo/weights.pt", data)

    assert info.size == len(data)
    assert store.stat("models", "yolo/weights.pt").size == len(data)
    assert hashlib.sha256(store.get("models", "yolo/weights.pt")).digest() == hashlib.sha256(data).digest()
    streamed = b"".join(store.stream("models", "yolo/weights.pt", chunk_size=1 << 20))
    assert streamed == data


@pytest.mark.slow
def test_large_object_from_a_stream_of_unknown_length(store: ObjectStore) -> None:
    data = os.urandom(8 * 1024 * 1024)
    info = store.put("models", "streamed.bin", io.BufferedReader(io.BytesIO(data)))
    assert info.size == len(data)
    assert store.get("models", "streamed.bin") == data


class _FailingReader(io.RawIOBase):
    """A source that breaks after some bytes, like a client hanging up mid-upload."""

    def __init__(self, good: bytes) -> None:
        self.good = good
        self.sent = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if not self.sent:
            self.sent = True
            return self.good
        raise ConnectionResetError("client went away")


def test_failed_upload_leaves_the_previous_object_untouched(store: ObjectStore) -> None:
    store.put("evidence", "bundle.zip", b"complete old bundle")

    with pytest.raises(OSError):
        store.put("evidence", "bundle.zip", _FailingReader(b"partial new"))

    assert store.get("evidence", "bundle.zip") == b"complete old bundle"


# -- streaming -------------------------------------------------------------------------------


def test_stream_yields_the_object_in_chunks(store: ObjectStore) -> None:
    data = os.urandom(200_000)
    store.put("evidence", "s", data)
    chunks = list(store.stream("evidence", "s", chunk_size=65_536))
    assert b"".join(chunks) == data
    assert len(chunks) >= 2


def test_stream_of_a_missing_object_fails_before_iteration(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFound):
        store.stream("evidence", "nope")


# -- missing objects and delete --------------------------------------------------------------


@pytest.mark.parametrize("operation", ["get", "stat"])
def test_missing_object_raises_object_not_found(store: ObjectStore, operation: str) -> None:
    with pytest.raises(ObjectNotFound) as caught:
        getattr(store, operation)("evidence", "no/such/key")
    assert caught.value.key == "no/such/key"


def test_object_in_a_bucket_never_created_is_not_found(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFound):
        store.get("nonexistent-bucket", "k")
    assert list(store.list("nonexistent-bucket")) == []


def test_a_prefix_of_existing_keys_is_not_an_object(store: ObjectStore) -> None:
    store.put("evidence", "dir/file", b"x")
    with pytest.raises(ObjectNotFound):
        store.get("evidence", "dir")
    with pytest.raises(ObjectNotFound):
        store.stat("evidence", "dir")


def test_delete_removes_the_object_and_is_idempotent(store: ObjectStore) -> None:
    store.put("evidence", "d/x", b"1")
    store.put("evidence", "d/y", b"2")

    store.delete("evidence", "d/x")
    store.delete("evidence", "d/x")
    store.delete("evidence", "never/existed")
    store.delete("nonexistent-bucket", "k")

    with pytest.raises(ObjectNotFound):
        store.get("evidence", "d/x")
    assert _keys(store.list("evidence")) == ["d/y"]


# -- listing ---------------------------------------------------------------------------------


def test_list_returns_only_keys_under_the_prefix_in_key_order(store: ObjectStore) -> None:
    for key in ["org1/cam2/b", "org1/cam1/a", "org1/cam1/c", "org1/cam1-old/z", "org2/cam1/a", "org10/x"]:
        store.put("snapshots", key, key.encode())

    assert _keys(store.list("snapshots", "org1/cam1/")) == ["org1/cam1/a", "org1/cam1/c"]
    assert _keys(store.list("snapshots", "org1/cam1")) == ["org1/cam1-old/z", "org1/cam1/a", "org1/cam1/c"]
    assert _keys(store.list("snapshots", "org1")) == [
        "org1/cam1-old/z", "org1/cam1/a", "org1/cam1/c", "org1/cam2/b", "org10/x"]
    assert _keys(store.list("snapshots", "org3/")) == []
    assert len(list(store.list("snapshots"))) == 6


def test_list_reports_size_and_modification_time(store: ObjectStore) -> None:
    store.put("evidence", "p/one", b"12345")
    [info] = store.list("evidence", "p/")
    assert (info.bucket, info.key, info.size) == ("evidence", "p/one", 5)
    assert abs(info.modified - datetime.now(UTC)) < timedelta(minutes=1)


@pytest.mark.slow
def test_list_walks_every_page_of_a_large_prefix(store: ObjectStore) -> None:
    # S3 answers at most 1000 keys per page; 1005 forces a continuation.
    keys = [f"many/{i:05d}" for i in range(1005)]
    for key in keys:
        store.put("snapshots", key, b"")
    store.put("snapshots", "other/0", b"")

    assert _keys(store.list("snapshots", "many/")) == keys


# -- names -----------------------------------------------------------------------------------

BAD_KEYS = ["", "../escape", "a/../../escape", "/etc/passwd", "a//b", "a/./b", "trailing/", "nul\x00byte",
            "back\\slash", "ctrl\nline", "x" * 1025, "s/" + "y" * 256]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_are_refused_before_touching_storage(store: ObjectStore, key: str) -> None:
    for call in (lambda: store.put("evidence", key, b"x"), lambda: store.get("evidence", key),
                 lambda: store.stat("evidence", key), lambda: store.delete("evidence", key),
                 lambda: store.presigned_url("evidence", key)):
        with pytest.raises(InvalidKey) as caught:
            call()
        assert caught.value.field == "key"
    assert list(store.list("evidence")) == []


@pytest.mark.parametrize("bucket", ["", "ab", "Snapshots", "../snapshots", "snap_shots", "-snapshots",
                                    "a" * 64, "snap/shots"])
def test_bad_bucket_names_are_refused(store: ObjectStore, bucket: str) -> None:
    with pytest.raises(InvalidKey) as caught:
        store.put(bucket, "k", b"x")
    assert caught.value.field == "bucket"
    with pytest.raises(InvalidKey):
        store.ensure_bucket(bucket)


@pytest.mark.parametrize("prefix", ["../", "/abs", "a/../b", "a\x00"])
def test_bad_list_prefixes_are_refused(store: ObjectStore, prefix: str) -> None:
    with pytest.raises(InvalidKey) as caught:
        list(store.list("evidence", prefix))
    assert caught.value.field == "prefix"


@pytest.mark.parametrize("content_type", ["text/plain\r\nX-Injected: 1", "jpeg", "", "a/b; x"])
def test_bad_content_types_are_refused(store: ObjectStore, content_type: str) -> None:
    with pytest.raises(InvalidKey) as caught:
        store.put("evidence", "k", b"x", content_type=content_type)
    assert caught.value.field == "content_type"
    assert list(store.list("evidence")) == []


def test_content_type_parameters_are_kept(store: ObjectStore) -> None:
    store.put("evidence", "t", b"x", content_type="text/plain; charset=utf-8")
    assert store.stat("evidence", "t").content_type == "text/plain; charset=utf-8"


# -- lifecycle -------------------------------------------------------------------------------


def test_default_buckets_carry_their_lifecycle_rules(store: ObjectStore) -> None:
    assert BUCKETS["snapshots"] == 30
    assert store.lifecycle_days("snapshots") == 30
    assert store.lifecycle_days("evidence") is None
    assert store.lifecycle_days("models") is None


def test_ensure_bucket_is_idempotent_and_replaces_the_rule(store: ObjectStore) -> None:
    store.put("snapshots", "keep", b"x")
    store.ensure_bucket("snapshots", lifecycle_days=7)
    store.ensure_bucket("snapshots", lifecycle_days=7)
    assert store.lifecycle_days("snapshots") == 7
    store.ensure_bucket("snapshots", lifecycle_days=None)
    assert store.lifecycle_days("snapshots") is None
    assert store.get("snapshots", "keep") == b"x"


@pytest.mark.parametrize("days", [0, -1])
def test_lifecycle_days_must_be_positive(store: ObjectStore, days: int) -> None:
    with pytest.raises(InvalidKey):
        store.ensure_bucket("snapshots", lifecycle_days=days)


# -- presigned URLs --------------------------------------------------------------------------


@pytest.mark.parametrize("expires", [timedelta(0), timedelta(days=8)])
def test_presigned_url_lifetime_is_bounded(store: ObjectStore, expires: timedelta) -> None:
    with pytest.raises(InvalidKey) as caught:
        store.presigned_url("evidence", "k", expires=expires)
    assert caught.value.field == "expires"


def test_only_get_urls_are_presigned(store: ObjectStore) -> None:
    with pytest.raises(InvalidKey):
        store.presigned_url("evidence", "k", method="DELETE")


def test_s3_presigned_url_is_fetchable_over_http(s3_endpoint: str) -> None:
    store = open_store(f"s3://t{uuid.uuid4().hex[:12]}", _settings("s3://x", s3_endpoint))
    store.ensure_bucket("evidence")
    data = os.urandom(5000)
    store.put("evidence", "org/ev 1/bundle.zip", data, content_type="application/zip")

    url = store.presigned_url("evidence", "org/ev 1/bundle.zip", expires=timedelta(minutes=5))
    response = httpx.get(url, timeout=10)

    assert response.status_code == 200
    assert response.content == data
    assert "X-Amz-Signature" in url


def test_file_presigned_url_verifies_to_its_bucket_and_key(tmp_path: Path) -> None:
    store = FileStore(tmp_path, SECRET)
    url = store.presigned_url("evidence", "org/ev 1/bundle.zip", expires=timedelta(minutes=5))

    assert url.startswith("/objects/evidence/org/ev%201/bundle.zip?expires=")
    assert verify_signed_url(url, SECRET) == ("evidence", "org/ev 1/bundle.zip")
    assert verify_signed_url("http://localhost:8000" + url, SECRET) == ("evidence", "org/ev 1/bundle.zip")


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return f"{parts.path}?{urlencode(query)}"


def test_file_presigned_url_refuses_tampering_expiry_and_other_secrets(tmp_path: Path) -> None:
    store = FileStore(tmp_path, SECRET)
    url = store.presigned_url("evidence", "org/a.zip", expires=timedelta(minutes=5))
    expires = int(parse_qs(urlsplit(url).query)["expires"][0])

    tampered = [
        url.replace("org/a.zip", "org/b.zip"),
        url.replace("/evidence/", "/snapshots/"),
        _with_query(url, expires=str(expires + 3600)),
        _with_query(url, sig="A" * 43),
        url.split("&sig=")[0],
        url.replace("/objects/evidence/org/a.zip", "/objects/evidence/org/../../etc/passwd"),
    ]
    for bad in tampered:
        with pytest.raises(SignedUrlError):
            verify_signed_url(bad, SECRET)
    with pytest.raises(SignedUrlError):
        verify_signed_url(url, "another-secret-of-enough-length")
    with pytest.raises(SignedUrlError, match="expired"):
        verify_signed_url(url, SECRET, now=datetime.now(UTC) + timedelta(minutes=6))


def test_file_store_refuses_a_short_url_secret(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        FileStore(tmp_path, "short")


# -- backend-specific behaviour --------------------------------------------------------------


def test_open_store_maps_logical_buckets_to_prefixed_s3_buckets(s3_endpoint: str) -> None:
    prefix = f"t{uuid.uuid4().hex[:12]}"
    store = open_store(f"s3://{prefix}", _settings("s3://x", s3_endpoint))
    assert isinstance(store, S3Store)
    store.ensure_bucket("snapshots", lifecycle_days=30)
    assert store.client.bucket_exists(f"{prefix}-snapshots")
    assert store.physical_bucket("evidence") == f"{prefix}-evidence"
    assert S3Store("h:1", "a", "b", prefix="vigia-").physical_bucket("models") == "vigia-models"
    assert S3Store("h:1", "a", "b", prefix="").physical_bucket("models") == "models"


def test_s3_lifecycle_rule_is_a_real_bucket_expiration(s3_endpoint: str) -> None:
    prefix = f"t{uuid.uuid4().hex[:12]}"
    store = open_store(f"s3://{prefix}", _settings("s3://x", s3_endpoint))
    assert isinstance(store, S3Store)
    ensure_default_buckets(store)
    config = store.client.get_bucket_lifecycle(f"{prefix}-snapshots")
    assert config is not None
    [rule] = config.rules
    assert rule.expiration is not None and rule.expiration.days == 30
    assert rule.status == "Enabled"


def test_s3_ping_fails_when_the_server_does_not_answer() -> None:
    store = open_store("s3://x", _settings("s3://x", "127.0.0.1:9"))
    assert store.ping() is False


def test_open_store_refuses_unknown_schemes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="object_store"):
        open_store("ftp://x", _settings("file://x"))
    with pytest.raises(ValueError, match="object_store"):
        open_store("file://", _settings("file://x"))


def test_open_store_reads_relative_file_urls_from_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("file://var/objects", _settings("file://var/objects"))
    assert isinstance(store, FileStore)
    store.put("evidence", "k", b"x")
    assert (tmp_path / "var/objects/evidence/objects/k").read_bytes() == b"x"


def test_file_store_expire_deletes_only_objects_older_than_the_rule(tmp_path: Path) -> None:
    store = FileStore(tmp_path, SECRET)
    ensure_default_buckets(store)
    store.put("snapshots", "old/a.jpg", b"old")
    store.put("snapshots", "new/b.jpg", b"new")
    store.put("evidence", "old/bundle", b"kept forever")
    month_ago = (datetime.now(UTC) - timedelta(days=31)).timestamp()
    os.utime(tmp_path / "snapshots/objects/old/a.jpg", (month_ago, month_ago))
    os.utime(tmp_path / "evidence/objects/old/bundle", (month_ago, month_ago))

    assert store.expire() == 1

    assert _keys(store.list("snapshots")) == ["new/b.jpg"]
    assert store.get("evidence", "old/bundle") == b"kept forever"
    assert not (tmp_path / "snapshots/objects/old").exists()  # emptied directories are pruned
    assert store.expire(now=datetime.now(UTC) + timedelta(days=31)) == 1
    assert list(store.list("snapshots")) == []


def test_file_store_leaves_no_temporary_files_and_cleans_stale_ones(tmp_path: Path) -> None:
    store = FileStore(tmp_path, SECRET)
    store.ensure_bucket("evidence")
    store.put("evidence", "k", b"x")
    with pytest.raises(OSError):
        store.put("evidence", "k2", _FailingReader(b"partial"))
    assert list((tmp_path / "evidence/tmp").iterdir()) == []

    stale = tmp_path / "evidence/tmp/put-crashed"
    stale.write_bytes(b"left by a crash")
    two_hours_ago = (datetime.now(UTC) - timedelta(hours=2)).timestamp()
    os.utime(stale, (two_hours_ago, two_hours_ago))
    store.expire()
    assert not stale.exists()


def test_file_store_refuses_keys_that_resolve_outside_the_bucket_through_symlinks(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"host file")
    store = FileStore(tmp_path / "store", SECRET)
    store.ensure_bucket("evidence")
    os.symlink(outside, tmp_path / "store/evidence/objects/link")

    with pytest.raises(InvalidKey):
        store.get("evidence", "link/secret")
    with pytest.raises(InvalidKey):
        store.put("evidence", "link/planted", b"x")
    assert not (outside / "planted").exists()


def test_file_store_refuses_a_key_that_is_also_a_directory_of_other_keys(tmp_path: Path) -> None:
    store = FileStore(tmp_path, SECRET)
    store.put("evidence", "a/b", b"1")
    with pytest.raises(InvalidKey, match="conflicts"):
        store.put("evidence", "a", b"2")
    store.put("evidence", "c", b"3")
    with pytest.raises(InvalidKey, match="conflicts"):
        store.put("evidence", "c/d", b"4")
    assert store.get("evidence", "a/b") == b"1"
    assert store.get("evidence", "c") == b"3"


def test_file_store_stat_describes_bytes_whose_metadata_is_missing(tmp_path: Path) -> None:
    store = FileStore(tmp_path, SECRET)
    store.put("evidence", "k", b"payload", content_type="text/plain")
    (tmp_path / "evidence/meta/k").unlink()  # e.g. a crash between the two renames
    info = store.stat("evidence", "k")
    assert info.size == 7
    assert info.etag == hashlib.md5(b"payload").hexdigest()
    assert info.content_type == "application/octet-stream"


def test_both_backends_satisfy_the_protocol(tmp_path: Path) -> None:
    assert isinstance(FileStore(tmp_path, SECRET), ObjectStore)
    assert isinstance(S3Store("127.0.0.1:9", "a", "b"), ObjectStore)
