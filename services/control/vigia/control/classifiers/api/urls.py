from rest_framework.routers import SimpleRouter

from vigia.control.classifiers.api.views import ClassifierModelViewSet, TrainingRunViewSet

router = SimpleRouter()
router.trailing_slash = "/?"
router.register("models/training-runs", TrainingRunViewSet, basename="training-run")
router.register("models", ClassifierModelViewSet, basename="classifier-model")

urlpatterns = router.urls
