"""Representation of audit entries (read-only)."""

from __future__ import annotations

from rest_framework import serializers

from vigia.control.audit.choices import AuditAction
from vigia.control.audit.models import AuditEntry


class AuditEntrySerializer(serializers.ModelSerializer):
    user = serializers.UUIDField(source="user_id", read_only=True, allow_null=True)
    user_email = serializers.SerializerMethodField()
    # Declared: a read-only model field loses allow_blank, and most entries are no security event ("").
    action = serializers.ChoiceField(choices=AuditAction.choices, allow_blank=True, read_only=True,
                                     help_text="The security event this request was, if any (\"\" when none).")

    class Meta:
        model = AuditEntry
        fields = ("id", "time", "user", "user_email", "method", "path", "route", "object_type",
                  "object_id", "status_code", "action", "query", "ip", "user_agent", "trace_id")
        read_only_fields = fields

    def get_user_email(self, entry: AuditEntry) -> str | None:
        return entry.user.email if entry.user is not None else None
