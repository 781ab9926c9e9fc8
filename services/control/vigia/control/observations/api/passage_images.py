"""A passage's images for a browser: its best plate crop and the frame it was cut from.

Passages keep object-store keys (``crop_key``, ``snapshot_key`` in the ``snapshots`` bucket, as
vision wrote them); an ``<img>`` cannot send a token, so this answers URLs that fetch them without
one for a short while: S3 presigned URLs, or the file store's signed ``/objects/...`` URLs
(:mod:`vigia.control.observations.evidence` serves those). The passage is looked up in the
caller's organization first, so another org's passage is a 404 like every detail route.
"""

from __future__ import annotations

import math
import time
from datetime import timedelta
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import APIException, NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from vigia.common.storage import StorageError
from vigia.control.core.api.transactions import AutocommitReadsMixin
from vigia.control.core.permissions import caller_org_id
from vigia.control.core.schema import error_response
from vigia.control.observations.evidence import object_store
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


class _Unavailable(APIException):
    status_code = 503
    default_code = "unavailable"
    default_detail = "the object store is unavailable"


class PassageImagesView(AutocommitReadsMixin, APIView):
    """``GET /api/v1/passages/{id}/images/``: the passage's crop and frame URLs (see the module)."""

    queryset = Passage.objects.all()  # what the route is about (the security matrix reads it)

    @extend_schema(responses={200: PassageImagesSerializer,
                              503: error_response("The object store is unavailable; retry later.")})
    def get(self, request: Request, pk: str) -> Response:
        keys = self.queryset.filter(org_id=caller_org_id(request), pk=pk).values("crop_key", "snapshot_key").first()
        if keys is None:
            raise NotFound("no such passage")
        store = object_store()

        def url(key: str | None) -> str | None:
            if not key:
                return None
            signed = store.presigned_url(SNAPSHOTS_BUCKET, key, expires=URL_LIFETIME)
            return request.build_absolute_uri(signed) if signed.startswith("/") else signed

        try:
            body: dict[str, Any] = {"passage": pk, "crop": url(keys["crop_key"]),
                                    "snapshot": url(keys["snapshot_key"])}
        except StorageError as exc:
            raise _Unavailable(f"the object store is unavailable: {exc}") from exc
        body["expires_at"] = math.floor(time.time() + URL_LIFETIME.total_seconds())
        return Response(body)
