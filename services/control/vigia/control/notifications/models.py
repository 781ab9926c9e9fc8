"""Notification channels of an organization, and what the notifier delivered through them.

A channel is where actions go (a webhook URL, an SMTP server, a Telegram bot, a WhatsApp number, a
PLC); its config, secrets included, is stored encrypted (MultiFernet, like cameras' RTSP URLs) and
validated by its kind's model in :mod:`vigia.common.channels`. The notifier writes deliveries and
attempts with plain SQL (``vigia.common.db``), so their timestamps and counters default in the
database.
"""

from __future__ import annotations

import orjson
from django.db import models
from django.db.models.functions import Now

from vigia.common.channels import ChannelConfig, channel_kind
from vigia.common.ids import uuid7
from vigia.control.core import crypto
from vigia.control.core.models import OrgScopedModel


class NotificationChannel(OrgScopedModel):
    """A destination of an organization's actions. Pipelines' output nodes name it by id; messages
    carry that id, never the credentials, which only the notifier decrypts."""

    kind = models.CharField(max_length=32, help_text="Channel kind (the registry's: webhook, email, "
                            "telegram, whatsapp, modbus); fixed once created.")
    name = models.CharField(max_length=200)
    config_encrypted = models.TextField(help_text="MultiFernet token of the kind's config as JSON, "
                                        "secrets included.")
    enabled = models.BooleanField(default=True, help_text="A disabled channel delivers nothing: its "
                                  "actions are recorded as failed.")

    class Meta:
        db_table = "notification_channels"
        ordering = ("-id",)
        constraints = [models.UniqueConstraint(fields=("org", "name"), name="notification_channels_unique_name")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def config(self) -> ChannelConfig:
        """The decrypted config, validated by the kind's model."""
        return channel_kind(self.kind).config.model_validate(orjson.loads(crypto.decrypt(self.config_encrypted)))

    @config.setter
    def config(self, value: ChannelConfig) -> None:
        self.config_encrypted = crypto.encrypt(orjson.dumps(value.plain()).decode())


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    RETRYING = "retrying", "Retrying"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class NotificationDelivery(models.Model):
    """One action to one recipient through one channel. Its idempotency key (action, channel,
    recipient) is unique: a delivered key is never sent again, whatever redelivery or retry
    brings the action back."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    org = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+")
    action_id = models.UUIDField(db_index=True, help_text="The action's id (its envelope id).")
    channel = models.ForeignKey(NotificationChannel, on_delete=models.SET_NULL, null=True, related_name="deliveries")
    kind = models.CharField(max_length=32)
    event_id = models.UUIDField(null=True, blank=True, db_index=True, help_text="The event the action is about.")
    pipeline_id = models.UUIDField(null=True, blank=True)
    node = models.CharField(max_length=64, blank=True, db_default="")
    recipient = models.CharField(max_length=320, blank=True, db_default="")
    idempotency_key = models.CharField(max_length=64, unique=True,
                                       help_text="SHA-256 of action, channel and recipient.")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, db_default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(db_default=0)
    last_error = models.TextField(blank=True, db_default="")
    sending_until = models.DateTimeField(null=True, blank=True, help_text="Lease of the notifier sending it "
                                         "now; a lease that ran out means that attempt was interrupted.")
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "notification_deliveries"
        ordering = ("-id",)
        indexes = [models.Index(fields=("channel", "-id"), name="notif_deliveries_channel"),
                   # the janitor's retention: an organization's deliveries created before its cutoff
                   models.Index(fields=("org", "created_at"), name="notif_deliveries_org_created")]

    def __str__(self) -> str:
        return f"{self.action_id}/{self.recipient or '-'}: {self.status}"


class NotificationAttempt(models.Model):
    """One try of a delivery: what the far side answered, how long it took, what went wrong."""

    id = models.BigAutoField(primary_key=True)
    org = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+", db_index=False)
    delivery = models.ForeignKey(NotificationDelivery, on_delete=models.CASCADE, related_name="attempt_rows",
                                 db_index=False)
    attempt = models.PositiveIntegerField(help_text="1 for the first try.")
    status = models.CharField(max_length=16, help_text="sending (in flight), delivered, failed (will be "
                              "retried), rejected (permanent), interrupted (the notifier stopped mid-attempt).")
    response = models.CharField(max_length=200, blank=True, db_default="", help_text="What the far side "
                                "answered (HTTP status, SMTP reply).")
    latency_ms = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True, db_default="")
    time = models.DateTimeField(db_default=Now(), help_text="When the attempt started.")

    class Meta:
        db_table = "notification_attempts"
        ordering = ("attempt",)
        constraints = [models.UniqueConstraint(fields=("delivery", "attempt"), name="notification_attempts_unique")]

    def __str__(self) -> str:
        return f"{self.delivery_id}#{self.attempt}: {self.status}"
