"""The transactional outbox: change events written in the same transaction as the change."""

from __future__ import annotations

from django.db import models

from vigia.common.ids import uuid7


class OutboxMessage(models.Model):
    """A message waiting to be published. Written in the same transaction as the change it
    announces (so a rolled-back change announces nothing); the relay publishes it with confirms
    and marks it published (so a broker outage delays it but loses nothing)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False,
                          help_text="The envelope id: consumers dedupe on it.")
    org = models.ForeignKey("tenancy.Organization", null=True, on_delete=models.CASCADE, related_name="+",
                            db_constraint=False)
    type = models.CharField(max_length=64)
    exchange = models.CharField(max_length=64)
    routing_key = models.CharField(max_length=255)
    body = models.BinaryField(help_text="The envelope as JSON (orjson).")
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True,
        help_text="Not retried before this time (back-off after a failed publish); null: at once.")

    class Meta:
        db_table = "outbox"
        ordering = ("id",)
        indexes = [models.Index(fields=("id",), name="outbox_pending",
                                condition=models.Q(published_at__isnull=True))]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"
