"""Backup → restore round trip: deploy/backup/backup.sh and restore.sh on a real PostgreSQL and file store.

A database is migrated by control's own management commands and populated (demo org and admin,
cameras, devices, detections, telemetry, events); objects are written through the FileStore. The
backup is restored into a fresh database and an empty store; every table must have the same rows
(count and content checksum) and every object file the same bytes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from vigia.common.storage import FileStore, ensure_default_buckets

ROOT = Path(__file__).resolve().parents[2]
BACKUP = ROOT / "deploy" / "backup" / "backup.sh"
RESTORE = ROOT / "deploy" / "backup" / "restore.sh"
SERVER = os.environ.get("VIGIA_TEST_PG_SERVER", "postgresql://postgres@127.0.0.1:5432")


def _admin(sql: str) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    suffix = uuid.uuid4().hex[:8]
    source, target = f"vigia_mediaops_bk_src_{suffix}", f"vigia_mediaops_bk_dst_{suffix}"
    _admin(f'CREATE DATABASE "{source}"')
    try:
        yield f"{SERVER}/{source}", f"{SERVER}/{target}"
    finally:
        for name in (source, target):
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _control(database_url: str, *args: str) -> None:
    env = {**os.environ, "VIGIA_DATABASE_URL": database_url, "VIGIA_LOG_JSON": "false"}
    subprocess.run([sys.executable, "-m", "vigia.control", *args], env=env, check=True, cwd=ROOT,
                   capture_output=True, timeout=120)


def _populate(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        org = conn.execute("SELECT id FROM organizations LIMIT 1").fetchone()
        assert org is not None, "bootstrap_demo made no organization"
        org_id = org[0]
        conn.execute(
            "INSERT INTO cameras (id, created_at, updated_at, name, rtsp_url_encrypted, fps, zones, location, site,"
            " enabled, status, version, org_id) SELECT gen_random_uuid(), now(), now(), 'cam ' || i, 'x', 5,"
            " '[]', '', 'site', true, 'active', 1, %s FROM generate_series(1, 3) AS i", [org_id])
        conn.execute(
            "INSERT INTO devices (id, created_at, updated_at, name, kind, status, reporting_interval, location,"
            " site, config, version, org_id) SELECT gen_random_uuid(), now(), now(), 'phone ' || i, 'phone',"
            " 'ON', 1, '', 'site', '{}', 1, %s FROM generate_series(1, 2) AS i", [org_id])
        conn.execute(
            "INSERT INTO detections (id, camera_id, time, label, confidence, box, plate_text, received_at, org_id)"
            " SELECT gen_random_uuid(), c.id, now() - i * interval '1 minute', 'car', 0.9,"
            " jsonb_build_object('x', i, 'y', 1, 'w', 10, 'h', 10), 'ABC' || (1000 + i), now(), %s"
            " FROM cameras AS c, generate_series(1, 40) AS i", [org_id])
        conn.execute(
            "INSERT INTO telemetry (device_id, time, seq, mag_x, mag_magnitude, humanoid, org_id)"
            " SELECT d.id, now() - i * interval '1 second', i, i * 0.5, i, i %% 2 = 0, %s"
            " FROM devices AS d, generate_series(1, 250) AS i", [org_id])
        conn.execute(
            "INSERT INTO events (id, time, event_type, severity, score, sources, description, status,"
            " classification, notes, updated_at, org_id)"
            " SELECT gen_random_uuid(), now() - i * interval '1 hour', 'intrusion', 'high', 0.8,"
            " '[]', 'event ' || i, 'open', 'unknown', '', now(), %s FROM generate_series(1, 15) AS i", [org_id])


def _table_fingerprints(database_url: str) -> dict[str, tuple[int, str]]:
    """Per table of schema public: row count and an order-independent checksum of the rows."""
    with psycopg.connect(database_url) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
        out = {}
        for table in tables:
            row = conn.execute(
                f'SELECT count(*), coalesce(md5(string_agg(md5(t::text), \'\' ORDER BY md5(t::text))), \'\')'
                f' FROM "{table}" AS t').fetchone()
            assert row is not None
            out[table] = (int(row[0]), str(row[1]))
    return out


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _run(script: Path, *args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(script), *args], env={**os.environ, **env}, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_backup_restores_every_row_and_object_into_a_fresh_database(
        databases: tuple[str, str], tmp_path: Path) -> None:
    source, target = databases
    _control(source, "migrate", "--no-input", "-v0")
    _control(source, "bootstrap_demo", "--password", "correct-horse-battery-staple-9")
    _populate(source)

    objects = tmp_path / "objects"
    store = FileStore(objects, "test-object-url-secret-0123456789")
    ensure_default_buckets(store)
    for i in range(5):
        store.put("snapshots", f"org/cam/{i}.jpg", os.urandom(2048 + i), content_type="image/jpeg")
    store.put("evidence", "org/event/bundle.json", b'{"frames": 3}', content_type="application/json")

    before = _table_fingerprints(source)
    assert before["detections"][0] == 120 and before["telemetry"][0] == 500 and before["events"][0] == 15
    assert before["organizations"][0] == 1 and before["users"][0] >= 1
    assert before["django_migrations"][0] > 10

    made = _run(BACKUP, "--out", str(tmp_path / "backups"), cwd=tmp_path,
                env={"VIGIA_DATABASE_URL": source, "VIGIA_OBJECT_STORE": "file://objects"})
    assert made.returncode == 0, made.stderr
    backup = Path(made.stdout.strip().splitlines()[-1])
    if not backup.is_absolute():
        backup = tmp_path / backup
    assert {p.name for p in backup.iterdir()} == {"database.dump", "objects.tar.gz", "manifest.txt"}
    manifest = (backup / "manifest.txt").read_text()
    assert "detections 120" in manifest and "telemetry 500" in manifest
    assert "snapshots/objects/org/cam/0.jpg 2048" in manifest

    restored = _run(RESTORE, str(backup), cwd=tmp_path,
                    env={"VIGIA_DATABASE_URL": target, "VIGIA_OBJECT_STORE": f"file://{tmp_path / 'restored'}"})
    assert restored.returncode == 0, restored.stderr

    assert _table_fingerprints(target) == before
    assert _files(tmp_path / "restored") == _files(objects)
    again = FileStore(tmp_path / "restored", "test-object-url-secret-0123456789")
    assert again.get("evidence", "org/event/bundle.json") == b'{"frames": 3}'


def test_restore_refuses_a_database_that_is_not_empty(databases: tuple[str, str], tmp_path: Path) -> None:
    source, _ = databases
    _control(source, "migrate", "--no-input", "-v0")
    made = _run(BACKUP, "--out", str(tmp_path), "--no-objects", cwd=tmp_path,
                env={"VIGIA_DATABASE_URL": source})
    assert made.returncode == 0, made.stderr
    backup = made.stdout.strip().splitlines()[-1]
    assert not (Path(backup) / "objects.tar.gz").exists()

    refused = _run(RESTORE, backup, "--no-objects", cwd=tmp_path, env={"VIGIA_DATABASE_URL": source})
    assert refused.returncode != 0
    assert "not empty" in refused.stderr
    with psycopg.connect(source) as conn:  # nothing touched
        row = conn.execute("SELECT count(*) FROM django_migrations").fetchone()
        assert row is not None and row[0] > 10


def test_backup_fails_cleanly_when_the_database_is_unreachable(tmp_path: Path) -> None:
    failed = _run(BACKUP, "--out", str(tmp_path / "b"), cwd=tmp_path,
                  env={"VIGIA_DATABASE_URL": f"{SERVER}/vigia_mediaops_does_not_exist"})
    assert failed.returncode != 0
    assert list((tmp_path / "b").iterdir()) == []  # no half-written backup left behind
