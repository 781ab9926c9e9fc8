from rest_framework.routers import SimpleRouter

from vigia.control.cameras.api.views import CameraViewSet

router = SimpleRouter()
router.trailing_slash = "/?"  # /api/v1/cameras and /api/v1/cameras/ both answer
router.register("cameras", CameraViewSet, basename="camera")

urlpatterns = router.urls
