"""The audit trail: who changed what, when and from where."""

from __future__ import annotations

from django.db import models

from vigia.common.ids import uuid7
from vigia.control.audit.choices import AuditAction


class AuditEntry(models.Model):
    """One mutating request (POST, PUT, PATCH, DELETE) and its outcome, kept for admins; a request
    that was a security event (a sign-in, a failed one, a lock-out, an unlock) says which in
    ``action``, and names the account concerned as its object. Reads of personal data (plate
    searches, a plate's history, passage exports) are entries too, with their query."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    org = models.ForeignKey("tenancy.Organization", null=True, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey("tenancy.User", null=True, on_delete=models.SET_NULL, related_name="+")
    time = models.DateTimeField(auto_now_add=True, db_index=True)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=512)
    route = models.CharField(max_length=256, blank=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    status_code = models.PositiveSmallIntegerField()
    action = models.CharField(max_length=32, choices=AuditAction.choices, blank=True, default="",
                              help_text="The security event this request was, if any.")
    query = models.CharField(max_length=1024, blank=True, default="", db_default="",
                             help_text="The query string of an audited read (a plate search, an export).")
    ip = models.GenericIPAddressField(null=True)
    user_agent = models.CharField(max_length=256, blank=True)
    trace_id = models.CharField(max_length=32, blank=True)

    class Meta:
        db_table = "audit_log"
        ordering = ("-id",)
        indexes = [models.Index(fields=("org", "-time"), name="audit_org_time")]
