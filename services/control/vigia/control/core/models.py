"""Shared model bases: every business row has a UUIDv7 id and belongs to one organization."""

from __future__ import annotations

from django.db import models

from vigia.common.ids import uuid7


class OrgScopedModel(models.Model):
    """A row owned by one organization. The API only ever shows a caller the rows of their org."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    org = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
