"""The audit log, readable by the organization's admins only."""

from __future__ import annotations

from vigia.control.audit.api.serializers import AuditEntrySerializer
from vigia.control.audit.filtersets import AuditEntryFilterSet
from vigia.control.audit.models import AuditEntry
from vigia.control.core.api.views import OrgScopedReadOnlyViewSet
from vigia.control.core.choices import Role


class AuditEntryViewSet(OrgScopedReadOnlyViewSet):
    """Who changed what, when and from where, and the sign-ins, failures, lock-outs and unlocks of the
    organization's accounts. Filters: user, method, since, until, object_type, object_id,
    status_code, action. Newest first."""

    queryset = AuditEntry.objects.select_related("user")
    serializer_class = AuditEntrySerializer
    filterset_class = AuditEntryFilterSet
    required_roles = {"read": Role.ADMIN}
