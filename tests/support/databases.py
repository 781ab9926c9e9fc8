"""PostgreSQL databases for tests, migrated by the control plane's own ``migrate`` (the schema every
service reads and writes is Django's).

Migrating takes seconds (Django starts, then every migration runs), and many tests want a fresh
database: so the tree's migrations are applied once, to a template database named after their
digest (kept between runs, rebuilt when a migration file changes), and a fresh database is a copy
of it (``CREATE DATABASE … TEMPLATE``, a fraction of a second). A kept database records the
digest it was migrated to (its comment) and is migrated again only when that changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
SERVER = os.environ.get("VIGIA_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
TEMPLATE_PREFIX = "vigia_template_"


def migrate(url: str) -> None:
    """Run ``python -m vigia.control migrate`` against ``url``; fails with its stderr."""
    done = subprocess.run([sys.executable, "-m", "vigia.control", "migrate", "--no-input", "-v", "0"],
                          env={**os.environ, "VIGIA_DATABASE_URL": url}, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def migrations_digest() -> str:
    """What the schema is made of: every migration file of the tree (path and content)."""
    digest = hashlib.sha256()
    for path in sorted(ROOT.glob("services/*/vigia/**/migrations/*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _admin() -> psycopg.Connection:
    return psycopg.connect(f"{SERVER}/postgres", autocommit=True)


@cache
def template_database() -> str:
    """The name of the migrated template for this tree's migrations, built if absent (under an
    advisory lock, so concurrent test processes build it once; built under another name and
    renamed, so a half-built one is never used). Templates of other digests are dropped."""
    name = f"{TEMPLATE_PREFIX}{migrations_digest()}"
    with _admin() as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext('vigia-test-template'))")
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            building = f"{name}_building"
            conn.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{building}"')
            migrate(f"{SERVER}/{building}")
            conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
            stale = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s AND datname <> %s",
                                 (f"{TEMPLATE_PREFIX}%", name)).fetchall()
            for (old,) in stale:
                conn.execute(f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)')
        conn.execute("SELECT pg_advisory_unlock(hashtext('vigia-test-template'))")
    return name


def migrated_database(name: str) -> str:
    """The URL of database ``name``, kept between runs: copied from the template when absent,
    migrated when it was migrated to other migrations than the tree's."""
    digest = migrations_digest()
    with _admin() as conn:
        row = conn.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                           (name,)).fetchone()
        if row is None:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database()}"')
        elif row[0] != digest:
            migrate(f"{SERVER}/{name}")
        conn.execute(f"COMMENT ON DATABASE \"{name}\" IS '{digest}'")
    return f"{SERVER}/{name}"


@contextmanager
def throwaway_database(prefix: str) -> Iterator[str]:
    """A fresh migrated database named ``<prefix>_<random>`` (a copy of the template), dropped on exit."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database()}"')
    try:
        yield f"{SERVER}/{name}"
    finally:
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
