"""A passage's images for a browser: its best plate crop and the frame it was cut from.

Passages keep object-store keys (``crop_key``, ``snapshot_key`` in the ``snapshots`` bucket, as
vision wrote them); an ``<img>`` cannot send a token, so this answers URLs that fetch them without
one for a short while: control's signed ``/objects/...`` URLs, which
:mod:`vigia.control.observations.evidence` serves from the file store or S3 alike. The passage is looked up in the
caller's organization first, so another org's passage is a 404 like every detail route.
"""

from __future__ import annotations

import math
import time
from datetime import timedelta
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from vigia.control.core.api.transactions import AutocommitReadsMixin
from vigia.control.core.permissions import caller_org_id
from vigia.control.observations.evidence import browser_url
from vigia.control.observations.models import Passage

SNAPSHOTS_BUCKET = "snapshots"
#: Long enough to look at a page of results, short enough that a copied link soon stops working.
URL_LIFETIME = timedelta(minutes=10)


class PassageImagesSerializer(serializers.Serializer):
    passage = serializers.UUIDField()
    crop = serializers.CharField(allow_null=True, help_text="URL of the plate's best crop (no token needed); "
                                 "null when the passage has none.")
    snapshot = serializers.CharField(allow_null=True, help_text="URL of the frame the crop was cut from; "
                                     "null when the passage has none.")
    expires_at = serializers.IntegerField(help_text="Unix time after which the URLs are refused.")


class PassageImagesView(AutocommitReadsMixin, APIView):
    """``GET /api/v1/passages/{id}/images/``: the passage's crop and frame URLs (see the module)."""

    queryset = Passage.objects.all()  # what the route is about (the security matrix reads it)

    @extend_schema(responses={200: PassageImagesSerializer})
    def get(self, request: Request, pk: str) -> Response:
        keys = self.queryset.filter(org_id=caller_org_id(request), pk=pk).values("crop_key", "snapshot_key").first()
        if keys is None:
            raise NotFound("no such passage")

        def url(key: str | None) -> str | None:
            return request.build_absolute_uri(browser_url(SNAPSHOTS_BUCKET, key, URL_LIFETIME)) if key else None

        body: dict[str, Any] = {"passage": pk, "crop": url(keys["crop_key"]), "snapshot": url(keys["snapshot_key"])}
        body["expires_at"] = math.floor(time.time() + URL_LIFETIME.total_seconds())
        return Response(body)
