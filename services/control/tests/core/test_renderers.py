"""FastJSONRenderer writes what DRF's JSONRenderer writes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from vigia.control.core.renderers import FastJSONRenderer

SAMPLE = ReturnDict({
    "id": uuid.UUID("01a2467e-6540-7367-8bc0-49c0d8812647"),
    "whole_second": datetime(2026, 12, 5, 13, 0, 0, tzinfo=UTC),
    "microseconds": datetime(2026, 12, 5, 13, 0, 0, 123456, tzinfo=UTC),
    "offset": datetime(2026, 12, 5, 13, 0, 0, tzinfo=timezone(timedelta(hours=-3))),
    "day": date(2026, 12, 5), "clock": time(13, 0, 1), "span": timedelta(seconds=90),
    "price": Decimal("1.50"), "label": gettext_lazy("car"), "text": "São Paulo \u2028 \u2029 \"quoted\"",
    "numbers": [0, -1, 2**62, 0.1, 12345.678, 0.30000000000000004, 1e16], "flags": [True, False, None],
    "nested": {"box": {"x1": 1, "y1": 2}, 7: "int key"},
    "rows": ReturnList([{"a": 1}], serializer=None),
}, serializer=None)


def test_same_bytes_as_drf_for_what_the_api_renders():
    assert FastJSONRenderer().render(SAMPLE) == JSONRenderer().render(SAMPLE)


def test_floats_keep_their_value_where_the_spelling_differs():
    # Python writes 1e-07 where orjson writes 1e-7: the same number to every JSON parser.
    floats = {"values": [1e-7, 0.00001, 2.5e-300, 1.2345678901234568e+20, -0.0]}
    assert json.loads(FastJSONRenderer().render(floats)) == json.loads(JSONRenderer().render(floats))


def test_what_orjson_refuses_falls_back_to_drf():
    huge = {"n": 2**70}
    assert FastJSONRenderer().render(huge) == JSONRenderer().render(huge)
    indented = FastJSONRenderer().render({"a": [1]}, "application/json; indent=2", {})
    assert indented == JSONRenderer().render({"a": [1]}, "application/json; indent=2", {})
    assert json.loads(indented) == {"a": [1]}


def test_nothing_renders_as_an_empty_body():
    assert FastJSONRenderer().render(None) == b""
