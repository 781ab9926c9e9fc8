from rest_framework.routers import SimpleRouter

from vigia.control.devices.api.views import DeviceViewSet

router = SimpleRouter()
router.trailing_slash = "/?"  # /api/v1/devices and /api/v1/devices/ both answer

router.register("devices", DeviceViewSet, basename="device")

urlpatterns = router.urls
