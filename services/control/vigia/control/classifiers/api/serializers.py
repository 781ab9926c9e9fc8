"""Representations of the false-alarm classifier versions and their training runs."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from vigia.control.classifiers.models import ClassifierModel, TrainingRun

METRIC_NAMES = ("accuracy", "precision", "recall", "f1", "auc", "loss")


def _metric(help_text: str) -> serializers.FloatField:
    return serializers.FloatField(allow_null=True, help_text=help_text)


class ModelMetricsSerializer(serializers.Serializer):
    """How the version did on the labelled events held out of its training (a false alarm is the
    positive class); null where the held-out set could not tell (one class only)."""

    accuracy = _metric("Share of held-out events classified right at a score of 0.5.")
    precision = _metric("Of the held-out events it called false alarms, the share operators did.")
    recall = _metric("Of the held-out false alarms, the share it called.")
    f1 = _metric("Harmonic mean of precision and recall.")
    auc = _metric("Area under the ROC curve of its score.")
    loss = _metric("Mean binary cross-entropy on the held-out events.")
    train_samples = serializers.IntegerField(help_text="Events it was trained on.")
    test_samples = serializers.IntegerField(help_text="Events held out to measure it.")

    def to_representation(self, instance: Any) -> dict[str, Any]:
        metrics = instance if isinstance(instance, dict) else {}
        out: dict[str, Any] = {name: metrics.get(name) for name in METRIC_NAMES}
        out["train_samples"] = int(metrics.get("train_samples") or 0)
        out["test_samples"] = int(metrics.get("test_samples") or 0)
        return out


class ClassifierModelSerializer(serializers.ModelSerializer):
    """A trained version of the organization's false-alarm classifier."""

    metrics = ModelMetricsSerializer(read_only=True)
    training_run = serializers.UUIDField(source="training_run_id", read_only=True, allow_null=True)
    activated_by = serializers.UUIDField(source="activated_by_id", read_only=True, allow_null=True)

    class Meta:
        model = ClassifierModel
        fields = ("id", "version", "created_at", "dataset_hash", "samples", "metrics", "training_run",
                  "is_active", "activated_at", "activated_by")
        read_only_fields = fields


class TrainingRunSerializer(serializers.ModelSerializer):
    """A training run and how far it got: ``queued`` until the trainer takes it, ``running``,
    then ``succeeded`` (``model`` is the version it made) or ``failed`` (``error`` says why)."""

    model = serializers.UUIDField(source="model_id", read_only=True, allow_null=True)
    requested_by = serializers.UUIDField(source="requested_by_id", read_only=True, allow_null=True)

    class Meta:
        model = TrainingRun
        fields = ("id", "status", "requested_by", "created_at", "started_at", "finished_at", "error", "model",
                  "samples")
        read_only_fields = fields
