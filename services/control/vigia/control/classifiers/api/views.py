"""The false-alarm classifier's versions (``/api/v1/models``) and training runs
(``/api/v1/models/training-runs``).

Everyone of the organization reads them; only an admin activates a version or asks for a training
run. Activating writes ``model.activated`` through the outbox in the same transaction (the
correlator drops its cached model); asking for a run inserts a queued ``training_runs`` row and
writes ``training.requested`` (the trainer takes it from ``trainer.control``). The audit trail
records both, as every mutating request.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from vigia.common.messages import ModelActivated, TrainingRequested
from vigia.control.classifiers.api.serializers import ClassifierModelSerializer, TrainingRunSerializer
from vigia.control.classifiers.models import ClassifierModel, TrainingRun
from vigia.control.core.api.views import OrgScopedReadOnlyViewSet
from vigia.control.core.choices import Role
from vigia.control.core.permissions import caller_org_id, signed_in_user
from vigia.control.outbox.enqueue import announce


class ClassifierModelViewSet(OrgScopedReadOnlyViewSet):
    """The organization's false-alarm classifier versions, newest first, with their held-out
    metrics; ``is_active`` marks the one its events are scored with."""

    queryset = ClassifierModel.objects.all()
    serializer_class = ClassifierModelSerializer
    filterset_class = None
    required_roles = {"activate": Role.ADMIN, "train": Role.ADMIN}

    @extend_schema(request=None, responses={200: ClassifierModelSerializer})
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str | None = None) -> Response:
        """Score the organization's events with this version from now on (the one active before is
        no longer). Events already scored keep their score until they are updated."""
        with transaction.atomic():
            model = self.get_object()  # another org's version: 404
            ClassifierModel.objects.select_for_update().filter(org_id=model.org_id, is_active=True) \
                .exclude(pk=model.pk).update(is_active=False)
            model.is_active = True
            model.activated_at = timezone.now()
            model.activated_by = signed_in_user(request)
            model.save(update_fields=("is_active", "activated_at", "activated_by"))
            announce("model.activated", model.org_id, ModelActivated(model=model.id, version=model.version))
        return Response(ClassifierModelSerializer(model).data)

    @extend_schema(request=None, responses={202: TrainingRunSerializer})
    @action(detail=False, methods=["post"], pagination_class=None)
    def train(self, request: Request) -> Response:
        """Train a new version on every event the organization's operators classified (true or
        false positive) and their evidence bundles. Answers at once with the queued run; follow its
        ``status`` at ``GET /api/v1/models/training-runs/{id}``."""
        with transaction.atomic():
            run = TrainingRun.objects.create(org_id=caller_org_id(request), requested_by=signed_in_user(request))
            announce("training.requested", run.org_id, TrainingRequested(run=run.id))
        return Response(TrainingRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class TrainingRunViewSet(OrgScopedReadOnlyViewSet):
    """Training runs of the organization's classifier, newest first: their status, the version a
    finished run made or why it failed."""

    queryset = TrainingRun.objects.all()
    serializer_class = TrainingRunSerializer
    filterset_class = None
