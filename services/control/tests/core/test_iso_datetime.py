"""iso_datetime writes an instant exactly as DRF's DateTimeField renders it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from rest_framework import serializers

from vigia.control.core.serializers import iso_datetime

ZONES = [UTC, timezone(timedelta(hours=-3)), timezone(timedelta(hours=5, minutes=30)), ZoneInfo("UTC"),
         ZoneInfo("America/Sao_Paulo"), ZoneInfo("Europe/London")]


def test_the_same_text_as_drf_for_utc_and_other_zones():
    field = serializers.DateTimeField()
    rng = random.Random(7)
    moments = [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
               datetime(2026, 12, 5, 13, 0, 0, tzinfo=UTC), datetime(2026, 12, 5, 13, 0, 0, 1, tzinfo=UTC),
               datetime(2026, 12, 5, 13, 0, 0, 120000, tzinfo=UTC)]
    for _ in range(3000):
        moments.append(datetime(rng.randint(1900, 2100), rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23),
                                rng.randint(0, 59), rng.randint(0, 59), rng.choice([0, rng.randint(0, 999999)]),
                                tzinfo=rng.choice(ZONES)))
    for moment in moments:
        # DRF renders in the current zone (UTC here), as every instant read from the database is.
        expected = field.to_representation(moment) if moment.tzinfo is UTC else \
            moment.isoformat().replace("+00:00", "Z")
        assert iso_datetime(moment) == expected, moment
    assert iso_datetime(None) is None
