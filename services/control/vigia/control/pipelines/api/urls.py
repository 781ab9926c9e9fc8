from rest_framework.routers import SimpleRouter

from vigia.control.pipelines.api.views import PipelineViewSet

router = SimpleRouter()
router.trailing_slash = "/?"  # /api/v1/pipelines and /api/v1/pipelines/ both answer
router.register("pipelines", PipelineViewSet, basename="pipeline")

urlpatterns = router.urls
