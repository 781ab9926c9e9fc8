"""Routes of detections, passages (and a plate's history), events, anomalies, telemetry, device
status history and the dashboard.

``/dashboard/events`` and ``/dashboard/detections`` are the seed API's names for the same lists.
"""

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from vigia.control.observations.api import summary, views

router = SimpleRouter()
router.trailing_slash = "/?"  # /events/{id}/acknowledge and .../acknowledge/ both work
router.register("detections", views.DetectionViewSet, basename="detection")
router.register("passages", views.PassageViewSet, basename="passage")
router.register("events", views.EventViewSet, basename="event")
router.register("anomalies", views.AnomalyViewSet, basename="anomaly")
router.register("telemetry", views.TelemetryViewSet, basename="telemetry")

urlpatterns = [
    re_path(r"^detections/search/?$", views.PlateSearchView.as_view(), name="detection-search"),
    re_path(r"^plates/(?P<plate>[^/]{1,32})/history/?$", views.PlateHistoryView.as_view(), name="plate-history"),
    path("devices/<uuid:device_id>/status-history", views.DeviceStatusHistoryView.as_view(),
         name="device-status-history"),
    path("dashboard/analytics", views.AnalyticsView.as_view(), name="dashboard-analytics"),
    path("dashboard/summary", summary.DashboardSummaryView.as_view(), name="dashboard-summary"),
    path("dashboard/events", views.EventViewSet.as_view({"get": "list"}), name="dashboard-events"),
    path("dashboard/detections", views.DetectionViewSet.as_view({"get": "list"}),
         name="dashboard-detections"),
    *router.urls,
]
