"""Routes of the audit log."""

from rest_framework.routers import SimpleRouter

from vigia.control.audit.api import views

router = SimpleRouter()
router.trailing_slash = "/?"  # /events/{id}/acknowledge and .../acknowledge/ both work
router.register("audit", views.AuditEntryViewSet, basename="audit-entry")

urlpatterns = router.urls
