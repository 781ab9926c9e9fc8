"""Filters of the audit log: who, which method, when, which security event."""

from __future__ import annotations

import django_filters as filters
from django.db.models import QuerySet

from vigia.control.audit.choices import AuditAction
from vigia.control.audit.models import AuditEntry
from vigia.control.core.filters import UtcDateTimeFilter

# Either case is accepted; stored methods are upper case.
# GET: the audited reads (plate searches, exports).
METHODS = [(m, m) for name in ("GET", "POST", "PUT", "PATCH", "DELETE") for m in (name, name.lower())]


class AuditEntryFilterSet(filters.FilterSet):
    user = filters.UUIDFilter(field_name="user_id")
    method = filters.ChoiceFilter(choices=METHODS, method="filter_method")
    since = UtcDateTimeFilter(field_name="time", lookup_expr="gte")
    until = UtcDateTimeFilter(field_name="time", lookup_expr="lt")
    object_type = filters.CharFilter(field_name="object_type", max_length=64)
    object_id = filters.CharFilter(field_name="object_id", max_length=64)
    status_code = filters.NumberFilter(field_name="status_code")
    action = filters.ChoiceFilter(choices=AuditAction.choices, field_name="action")

    class Meta:
        model = AuditEntry
        fields: list[str] = []

    def filter_method(self, queryset: QuerySet[AuditEntry], name: str, value: str) -> QuerySet[AuditEntry]:
        return queryset.filter(method=value.upper())
