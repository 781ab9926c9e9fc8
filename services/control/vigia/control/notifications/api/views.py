"""Channel endpoints: CRUD (admins write, operators read), ``POST …/{id}/test/``, the deliveries of
a channel or of an event, and ``GET …/kinds/``: every kind with the JSON schema of its config (from
the channel registry), so a client draws each kind's form without knowing the kinds."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, generics, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from vigia.common.channels import CHANNELS
from vigia.common.messages import ActionRequested
from vigia.control.core.api.views import OrgScopedViewSet
from vigia.control.core.choices import Role
from vigia.control.core.pagination import IdCursorPagination
from vigia.control.core.permissions import caller_org_id
from vigia.control.notifications.api.serializers import (
    ChannelKindSerializer,
    ChannelSerializer,
    ChannelTestSerializer,
    DeliverySerializer,
)
from vigia.control.notifications.filtersets import ChannelFilterSet, DeliveryFilterSet
from vigia.control.notifications.models import NotificationAttempt, NotificationChannel, NotificationDelivery
from vigia.control.observations.models import Event
from vigia.control.outbox.enqueue import announce

TEST_TEXT = {"pt-BR": "Teste do Vigia: o canal {{ channel_name }} funciona.",
             "en": "Vigia test: channel {{ channel_name }} works."}


class ChannelDisabled(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "channel_disabled"
    default_detail = "the channel is disabled: enable it to test it"


def deliveries() -> QuerySet[NotificationDelivery]:
    return NotificationDelivery.objects.prefetch_related(
        Prefetch("attempt_rows", queryset=NotificationAttempt.objects.order_by("attempt")))


class ChannelViewSet(OrgScopedViewSet):
    queryset = NotificationChannel.objects.all()
    serializer_class = ChannelSerializer
    filterset_class = ChannelFilterSet
    required_roles = {"read": Role.OPERATOR, "write": Role.ADMIN, "test": Role.OPERATOR,
                      "deliveries": Role.OPERATOR, "kinds": Role.OPERATOR}

    @extend_schema(responses={200: ChannelKindSerializer(many=True)})
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def kinds(self, request: Request) -> Response:
        """Every channel kind: its label, whether actions name recipients, and its config's JSON
        schema (secret fields are ``writeOnly`` with ``format: password``)."""
        return Response([{"kind": kind.kind, "label": kind.label, "description": kind.description,
                          "needs_recipient": kind.needs_recipient, "config_schema": kind.config.model_json_schema()}
                         for kind in CHANNELS.values()])

    @extend_schema(request=ChannelTestSerializer, responses={202: inline_serializer("ChannelTestAccepted", {
        "action": serializers.UUIDField(help_text="Id of the action (and of its action.<kind> message)."),
        "channel": serializers.UUIDField()})})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        """Send a test message through the channel: an action published through the outbox, which
        the notifier delivers like any other (its deliveries appear under …/deliveries/)."""
        channel = self.get_object()
        body = ChannelTestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if not channel.enabled:
            raise ChannelDisabled()
        locale = body.validated_data.get("locale") or channel.config.locale
        data = ActionRequested(
            channel=channel.id, recipients=body.validated_data.get("recipients", []),
            template=body.validated_data.get("text") or TEST_TEXT[locale], locale=locale,
            payload={"test": True, "title": "Vigia test", "channel_name": channel.name, "severity": "info"})
        row = announce(f"action.{channel.kind}", channel.org_id, data)
        return Response({"action": str(row.id), "channel": str(channel.id)}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: DeliverySerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=IdCursorPagination)
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        """The channel's deliveries, newest first, each with its attempts (``?status=`` filters)."""
        channel = self.get_object()
        rows = DeliveryFilterSet(request.query_params, deliveries().filter(org_id=channel.org_id, channel=channel))
        if not rows.is_valid():
            raise exceptions.ValidationError(rows.errors)
        page = self.paginate_queryset(rows.qs)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)


class EventDeliveriesView(generics.ListAPIView):
    """``GET /api/v1/events/{id}/deliveries/``: what the notifier delivered about an event."""

    serializer_class = DeliverySerializer
    pagination_class = IdCursorPagination
    filterset_class = DeliveryFilterSet
    required_roles = {"read": Role.OPERATOR}
    queryset = NotificationDelivery.objects.none()  # the model, for the schema; get_queryset scopes it

    def get_queryset(self) -> QuerySet[NotificationDelivery]:
        org = caller_org_id(self.request)
        event = self.kwargs["event"]
        if not Event.objects.filter(org_id=org, id=event).exists():
            raise exceptions.NotFound("no such event")
        return deliveries().filter(org_id=org, event_id=event)
