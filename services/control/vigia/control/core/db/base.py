"""Django's PostgreSQL backend with psycopg's compiled timestamp loader (``ENGINE =
"vigia.control.core.db"``).

Django loads every ``timestamptz`` value through a Python subclass of psycopg's pure-Python loader
(to stamp its time zone on the result), which parses each timestamp with a regular expression: on
the API's lists that was a tenth of the CPU of a request. When Django's time zone and the
session's are both UTC, psycopg's compiled loader returns the very same values (aware datetimes in
``datetime.timezone.utc``), so cursors use it; any other set-up keeps Django's loader.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

import psycopg
from django.db.backends.postgresql import base
from psycopg.pq import Format

TIMESTAMPTZ_OID = psycopg.postgres.types["timestamptz"].oid
# psycopg's own loader: the compiled one when psycopg's C extension is installed.
_FAST_LOADER = psycopg.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)


class DatabaseWrapper(base.DatabaseWrapper):
    _utc_session = False

    def init_connection_state(self) -> None:
        super().init_connection_state()  # sets the session's time zone to Django's
        session_zone = self.connection.info.parameter_status("TimeZone") if self.connection is not None else None
        self._utc_session = self.timezone is UTC and session_zone == "UTC"

    def create_cursor(self, name: str | None = None) -> Any:
        cursor = super().create_cursor(name)
        if self._utc_session and _FAST_LOADER is not None:
            cursor.adapters.register_loader(TIMESTAMPTZ_OID, _FAST_LOADER)
        return cursor
