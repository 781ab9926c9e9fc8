from rest_framework.routers import SimpleRouter

from vigia.control.core.api.views import UUID_PATTERN
from vigia.control.watchlists.api.views import PlateWatchlistEntryViewSet, PlateWatchlistViewSet

router = SimpleRouter()
router.trailing_slash = "/?"  # /api/v1/watchlists and /api/v1/watchlists/ both answer
router.register("watchlists", PlateWatchlistViewSet, basename="watchlist")
router.register(rf"watchlists/(?P<watchlist_id>{UUID_PATTERN})/entries", PlateWatchlistEntryViewSet,
                basename="watchlist-entry")

urlpatterns = router.urls
