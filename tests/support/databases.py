"""PostgreSQL databases for tests, migrated by the control plane's own ``migrate`` (the schema every
service reads and writes is Django's)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
SERVER = os.environ.get("VIGIA_TEST_PG", "postgresql://postgres@127.0.0.1:5432")


def migrate(url: str) -> None:
    """Run ``python -m vigia.control migrate`` against ``url``; fails with its stderr."""
    done = subprocess.run([sys.executable, "-m", "vigia.control", "migrate", "--no-input", "-v", "0"],
                          env={**os.environ, "VIGIA_DATABASE_URL": url}, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def migrated_database(name: str) -> str:
    """The URL of database ``name``, created if absent and migrated; it is kept between runs."""
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{SERVER}/{name}"
    migrate(url)
    return url


@contextmanager
def throwaway_database(prefix: str) -> Iterator[str]:
    """A fresh migrated database named ``<prefix>_<random>``, dropped on exit."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"{SERVER}/{name}"
        migrate(url)
        yield url
    finally:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
