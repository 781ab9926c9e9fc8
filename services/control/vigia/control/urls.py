"""URL map. Every area mounts its own ``api/urls.py`` under /api/v1/."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from vigia.control.cameras.stream_auth import mediamtx_auth
from vigia.control.core import console, health
from vigia.control.observations.api.passage_images import PassageImagesView
from vigia.control.observations.evidence import signed_object

urlpatterns = [
    path("healthz", health.healthz),
    path("readyz", health.readyz),
    path("metrics", health.metrics),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include("vigia.control.tenancy.api.urls")),
    path("api/v1/", include("vigia.control.cameras.api.urls")),
    path("api/v1/", include("vigia.control.faces.api.urls")),
    path("api/v1/", include("vigia.control.devices.api.urls")),
    path("api/v1/", include("vigia.control.pipelines.api.urls")),
    path("api/v1/", include("vigia.control.watchlists.api.urls")),
    path("api/v1/", include("vigia.control.observations.api.urls")),
    path("api/v1/passages/<uuid:pk>/images/", PassageImagesView.as_view(), name="passage-images"),
    path("api/v1/", include("vigia.control.audit.api.urls")),
    path("api/v1/", include("vigia.control.notifications.api.urls")),
    path("api/v1/", include("vigia.control.classifiers.api.urls")),
    # MediaMTX's authMethod: http hook; internal network only (refused when it came through a proxy).
    path("internal/mediamtx/auth", mediamtx_auth, name="mediamtx-auth"),
    # The file store's signed object URLs (evidence downloads); the signature is the credential.
    re_path(r"^objects/.+$", signed_object, name="signed-object"),
    # Last: the operator console's files and, for every other path outside the reserved prefixes,
    # its index.html (deep links). Unknown /api/... paths still get the JSON 404.
    re_path(console.PATH_PATTERN, console.serve, name="console"),
]

handler404 = "vigia.control.core.health.not_found"
handler500 = "vigia.control.core.health.server_error"
