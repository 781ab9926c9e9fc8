from django.urls import path
from rest_framework.routers import SimpleRouter

from vigia.control.faces.api.views import EnrolledPersonViewSet, FaceSightingViewSet, FacesSettingsView

router = SimpleRouter()
router.trailing_slash = "/?"  # /api/v1/faces/people and /api/v1/faces/people/ both answer
router.register("faces/people", EnrolledPersonViewSet, basename="face-person")
router.register("faces/matches", FaceSightingViewSet, basename="face-sighting")

urlpatterns = [path("faces/settings", FacesSettingsView.as_view(), name="faces-settings"), *router.urls]
