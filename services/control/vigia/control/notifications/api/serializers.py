"""Channel and delivery representations. A channel's config goes in whole and comes out without
its secrets (``secrets_set`` names the ones stored); an update may leave secrets out to keep them."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError
from rest_framework import serializers

from vigia.common.channels import CHANNELS, ChannelConfig, channel_kind
from vigia.control.core import crypto
from vigia.control.core.serializers import StrictModelSerializer, StrictSerializer
from vigia.control.notifications.models import NotificationAttempt, NotificationChannel, NotificationDelivery


def _field_errors(exc: ValidationError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in exc.errors():
        path = ".".join(str(part) for part in ("config", *error["loc"]))
        errors.setdefault(path, []).append(error["msg"])
    return errors


class ChannelSerializer(StrictModelSerializer):
    """A channel as admins edit it and operators read it."""

    kind = serializers.ChoiceField(choices=sorted(CHANNELS), help_text="Channel kind; fixed once created.")
    config = serializers.JSONField(help_text="The kind's settings. Secret fields (secrets_set) are "
                                   "write-only: never returned; left out of an update, they are kept.")
    secrets_set = serializers.SerializerMethodField(help_text="Names of the secret fields stored.")

    class Meta:
        model = NotificationChannel
        fields = ("id", "kind", "name", "enabled", "config", "secrets_set", "created_at", "updated_at")
        read_only_fields = ("id", "created_at", "updated_at")

    def to_representation(self, instance: NotificationChannel) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["config"] = instance.config.public()
        return data

    def get_secrets_set(self, instance: NotificationChannel) -> list[str]:
        config = instance.config
        return [name for name in config.secrets() if getattr(config, name) is not None]

    def validate_name(self, value: str) -> str:
        org_id = self.context["request"].user.org_id
        taken = NotificationChannel.objects.filter(org_id=org_id, name=value)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError("a channel with this name already exists")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance: NotificationChannel | None = self.instance
        kind = attrs.get("kind", instance.kind if instance else None)
        if instance is not None and kind != instance.kind:
            raise serializers.ValidationError({"kind": ["cannot change once created: make another channel"]})
        if "config" in attrs or instance is None:
            raw = attrs.get("config")
            if not isinstance(raw, dict):
                raise serializers.ValidationError({"config": ["must be a JSON object"]})
            stored: dict[str, Any] = {}
            if instance is not None:
                stored = orjson.loads(crypto.decrypt(instance.config_encrypted))
            model = channel_kind(str(kind)).config
            # Secrets cannot be read back, so an update that leaves one out keeps the stored value.
            merged = {**{name: stored[name] for name in model.secrets() if name in stored}, **raw}
            try:
                attrs["config"] = model.model_validate(merged)
            except ValidationError as exc:
                raise serializers.ValidationError(_field_errors(exc)) from None
        return attrs

    def _apply_config(self, validated: dict[str, Any]) -> dict[str, Any]:
        config: ChannelConfig | None = validated.pop("config", None)
        if config is not None:
            validated["config_encrypted"] = crypto.encrypt(orjson.dumps(config.plain()).decode())
        return validated

    def create(self, validated_data: dict[str, Any]) -> NotificationChannel:
        return super().create(self._apply_config(validated_data))

    def update(self, instance: NotificationChannel, validated_data: dict[str, Any]) -> NotificationChannel:
        return super().update(instance, self._apply_config(validated_data))


class ChannelKindSerializer(serializers.Serializer):
    """A kind of channel as a client needs it to draw the kind's form."""

    kind = serializers.CharField()
    # DRF's metaclass pops declared fields, so Field.label is untouched; the stubs cannot see that.
    label = serializers.CharField()  # type: ignore[assignment]
    description = serializers.CharField()
    needs_recipient = serializers.BooleanField(help_text="Whether its actions are sent to recipients.")
    config_schema = serializers.DictField(help_text="JSON schema of the kind's config (pydantic's).")


class ChannelTestSerializer(StrictSerializer):
    """A test message through a channel (its own recipients unless given)."""

    recipients = serializers.ListField(child=serializers.CharField(min_length=1, max_length=320),
                                       required=False, max_length=20)
    text = serializers.CharField(required=False, max_length=2000, help_text="Template of the text; the "
                                 "kind's default test text when absent.")
    locale = serializers.ChoiceField(choices=("pt-BR", "en"), required=False)


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = NotificationAttempt
        fields = ("attempt", "status", "response", "latency_ms", "error", "time")


class DeliverySerializer(serializers.ModelSerializer):
    """A delivery with every attempt, oldest first."""

    attempts_list = AttemptSerializer(source="attempt_rows", many=True, read_only=True)

    class Meta:
        model = NotificationDelivery
        fields = ("id", "action_id", "channel", "kind", "event_id", "pipeline_id", "node", "recipient", "status",
                  "attempts", "last_error", "delivered_at", "created_at", "updated_at", "attempts_list")
