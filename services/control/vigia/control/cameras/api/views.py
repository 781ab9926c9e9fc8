"""Camera endpoints: CRUD, ``POST …/{id}/restart`` and ``POST …/{id}/check``.

``?check=true`` on create or update saves the camera only if ``ffprobe`` can open its stream
(424 otherwise, nothing saved); ``…/check`` probes a saved camera and just reports.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from vigia.common.messages import CameraRestart
from vigia.control.cameras import reachability
from vigia.control.cameras.api.serializers import CameraSerializer, ProbeResultSerializer, RestartSerializer
from vigia.control.cameras.filtersets import CameraFilterSet
from vigia.control.cameras.models import Camera
from vigia.control.core.api.views import OrgScopedViewSet
from vigia.control.core.choices import Role
from vigia.control.core.schema import error_response
from vigia.control.outbox.changes import ChangeEventsMixin
from vigia.control.outbox.enqueue import announce

CHECK_PARAM = OpenApiParameter("check", bool, description="Save only if ffprobe can open the stream.")
CHECK_ERRORS = {
    424: error_response("?check=true and ffprobe could not open the stream: nothing was saved."),
    503: error_response("?check=true but the reachability check cannot run here (no ffprobe)."),
}


class CheckUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "check_unavailable"
    default_detail = "the reachability check cannot run here"


class CameraUnreachable(exceptions.APIException):
    status_code = status.HTTP_424_FAILED_DEPENDENCY
    default_code = "camera_unreachable"
    default_detail = "the camera's stream could not be opened"


def run_probe(camera: Camera) -> reachability.ProbeResult:
    """Probe ``camera`` with the configured binary and timeout; 503 when ffprobe is missing."""
    binary = getattr(settings, "VIGIA_FFPROBE_BINARY", reachability.DEFAULT_BINARY)
    try:
        return reachability.probe(camera.rtsp_url, settings.VIGIA.ffprobe_timeout, binary)
    except reachability.ProbeUnavailable as exc:
        raise CheckUnavailable(str(exc)) from None


class CameraViewSet(ChangeEventsMixin, OrgScopedViewSet):
    queryset = Camera.objects.all()
    serializer_class = CameraSerializer
    filterset_class = CameraFilterSet
    required_roles = {"destroy": Role.ADMIN}

    def _checked(self, serializer: BaseSerializer[Any]) -> None:
        if self.request.query_params.get("check", "").lower() not in ("1", "true", "yes"):
            return
        result = run_probe(serializer.instance)  # type: ignore[arg-type]
        if not result.reachable:
            raise CameraUnreachable(f"camera not saved: {result.detail}")  # rolls the request back

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        super().perform_create(serializer)
        self._checked(serializer)

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        super().perform_update(serializer)
        self._checked(serializer)

    @extend_schema(parameters=[CHECK_PARAM], responses={201: CameraSerializer, **CHECK_ERRORS})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    @extend_schema(parameters=[CHECK_PARAM], responses={200: CameraSerializer, **CHECK_ERRORS})
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().update(request, *args, **kwargs)

    @extend_schema(parameters=[CHECK_PARAM], responses={200: CameraSerializer, **CHECK_ERRORS})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().partial_update(request, *args, **kwargs)

    @extend_schema(request=RestartSerializer, responses={202: inline_serializer("CameraRestartAccepted", {
        "camera": serializers.UUIDField(),
        "message_id": serializers.UUIDField(help_text="Id of the camera.restart message.")})})
    @action(detail=True, methods=["post"])
    def restart(self, request: Request, pk: str | None = None) -> Response:
        """Ask the streamer that owns this camera to restart its pipeline (``camera.restart``)."""
        camera = self.get_object()
        body = RestartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row = announce("camera.restart", camera.org_id,
                       CameraRestart(camera=camera.id, reason=body.validated_data["reason"]))
        return Response({"camera": str(camera.id), "message_id": str(row.id)},
                        status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={
        200: ProbeResultSerializer, 503: error_response("The reachability check cannot run here (no ffprobe).")})
    @action(detail=True, methods=["post"])
    def check(self, request: Request, pk: str | None = None) -> Response:
        """Probe the camera's stream with ffprobe (timeout ``VIGIA_FFPROBE_TIMEOUT``) and report."""
        return Response(run_probe(self.get_object()).as_dict())
