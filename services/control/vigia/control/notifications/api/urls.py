from django.urls import path
from rest_framework.routers import SimpleRouter

from vigia.control.notifications.api.views import ChannelViewSet, EventDeliveriesView

router = SimpleRouter()
router.trailing_slash = "/?"  # /api/v1/channels and /api/v1/channels/ both answer
router.register("channels", ChannelViewSet, basename="channel")

urlpatterns = [
    *router.urls,
    path("events/<uuid:event>/deliveries/", EventDeliveriesView.as_view(), name="event-deliveries"),
]
