"""The control plane's database backend: Django's PostgreSQL backend with psycopg's compiled
timestamp loader, which must load every timestamp exactly as Django's own loader does."""

from __future__ import annotations

from datetime import UTC

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg.pq import Format

from vigia.control.core.db.base import _FAST_LOADER, TIMESTAMPTZ_OID

pytestmark = pytest.mark.django_db

MOMENTS = ("now()", "'2026-12-05 13:00:00+00'", "'2026-12-05 13:00:00.000001+00'", "'2026-12-05 10:00:00.5-03'",
           "'1899-12-31 23:59:59.999999+00'", "'0001-01-01 00:00:00+00'", "'9999-12-31 23:59:59.999999+00'",
           "'2026-03-29 01:30:00+01'", "NULL")
QUERY = "SELECT " + ", ".join(f"{m}::timestamptz" for m in MOMENTS)


def test_cursors_load_timestamps_with_the_compiled_loader():
    with connection.cursor() as cursor:
        loader = cursor.cursor.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    assert connection.vendor == "postgresql"
    assert loader is _FAST_LOADER
    assert _FAST_LOADER.__module__.startswith("psycopg_binary")  # the C extension, not the Python loader


def test_timestamps_read_exactly_as_djangos_loader_reads_them():
    with connection.cursor() as cursor:
        cursor.execute(QUERY)
        fast = cursor.fetchone()
    with connection.cursor() as cursor:
        register_tzloader(connection.timezone, cursor.cursor)  # Django's own loader, on this cursor only
        cursor.execute(QUERY)
        django_loaded = cursor.fetchone()
    assert fast == django_loaded
    for value, expected in zip(fast, django_loaded, strict=True):
        if expected is not None:
            assert value.tzinfo is UTC and expected.tzinfo is UTC
            assert value.isoformat() == expected.isoformat()
