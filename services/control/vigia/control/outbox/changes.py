"""Change events of org-owned resources (cameras, devices, pipelines), announced through the outbox.

A model that announces its changes implements :class:`AnnouncesChanges`; a ViewSet that serves it
adds :class:`ChangeEventsMixin` before its base, and every create, update and delete then bumps the
row's ``version`` and enqueues ``<prefix>.created|updated|deleted`` in the request's transaction.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from django.db.models import Model, QuerySet
from rest_framework.serializers import BaseSerializer

from vigia.common.messages import Strict
from vigia.control.outbox.enqueue import announce

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class AnnouncesChanges(Protocol):
    """A model whose changes the rest of Vigia hears about."""

    message_prefix: ClassVar[str]
    org_id: Any
    version: int

    def change_data(self, verb: str) -> Strict:
        """The message data announcing this row was ``created``, ``updated`` or ``deleted``."""
        ...


def announce_change(instance: AnnouncesChanges, verb: str) -> None:
    """Enqueue ``<prefix>.<verb>`` for ``instance`` in the current transaction."""
    announce(f"{instance.message_prefix}.{verb}", instance.org_id, instance.change_data(verb))


class ChangeEventsMixin:
    """ViewSet mixin: version bump + outbox message on every create, update and delete.

    Rows are locked (``SELECT … FOR UPDATE``) for writes so two concurrent updates get two
    versions, in the order their messages are enqueued.
    """

    request: Any

    def get_queryset(self) -> QuerySet[Any]:
        queryset: QuerySet[Any] = super().get_queryset()  # type: ignore[misc]
        if self.request.method not in SAFE_METHODS:
            queryset = queryset.select_for_update(of=("self",))
        return queryset

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        super().perform_create(serializer)  # type: ignore[misc]
        announce_change(serializer.instance, "created")  # type: ignore[arg-type]

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        instance = serializer.instance
        serializer.save(version=instance.version + 1)  # type: ignore[union-attr]
        announce_change(serializer.instance, "updated")  # type: ignore[arg-type]

    def perform_destroy(self, instance: Model) -> None:
        announce_change(instance, "deleted")  # type: ignore[arg-type]
        instance.delete()
