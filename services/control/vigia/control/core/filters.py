"""Query filters shared by every API area."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters as filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 instant, converted to UTC: ISO allows offsets up to ±23:59, PostgreSQL only up to
    ±15:59, so an instant must reach the database in UTC (or be a 400, never a database error)."""

    def to_python(self, value: Any) -> datetime | None:
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError:  # year 1 or 9999 shifted out of range by its offset
            raise ValidationError("the instant is out of range once converted to UTC", code="invalid") from None


class UtcDateTimeFilter(filters.IsoDateTimeFilter):
    """``IsoDateTimeFilter`` comparing in UTC (see :class:`UtcIsoDateTimeField`)."""

    field_class = UtcIsoDateTimeField


class FilterSet(filters.FilterSet):
    """A ``FilterSet`` that builds its form class once per class instead of once per request (the
    class is made from the declared filters, which do not change between requests; django-filter
    rebuilds it, form fields included, for every list it filters)."""

    _form_classes: dict[type[Any], type[Any]] = {}

    def get_form_class(self) -> type[Any]:
        form_class = self._form_classes.get(type(self))
        if form_class is None:
            form_class = self._form_classes[type(self)] = super().get_form_class()
        return form_class
