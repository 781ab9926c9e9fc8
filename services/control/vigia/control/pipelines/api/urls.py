from django.urls import re_path
from rest_framework.routers import SimpleRouter

from vigia.control.core.api.views import UUID_PATTERN
from vigia.control.pipelines.api.hooks import PipelineHookView
from vigia.control.pipelines.api.views import NODE_ID_PATTERN, PipelineViewSet

router = SimpleRouter()
router.trailing_slash = "/?"  # /api/v1/pipelines and /api/v1/pipelines/ both answer
router.register("pipelines", PipelineViewSet, basename="pipeline")

urlpatterns = [
    *router.urls,
    re_path(rf"^hooks/(?P<pipeline>{UUID_PATTERN})/(?P<node>{NODE_ID_PATTERN})/?$", PipelineHookView.as_view(),
            name="pipeline-hook"),
]
