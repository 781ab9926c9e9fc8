"""The organization's false-alarm classifiers: what the trainer learnt from its operators'
classifications, and which version the correlator scores its events with."""

from __future__ import annotations

from django.db import models

from vigia.common.ids import uuid7
from vigia.control.classifiers.choices import TrainingStatus


class ClassifierModel(models.Model):
    """One trained version of the organization's false-alarm classifier (seed 000's fusion of a
    frame encoder, an audio CNN and a sensor MLP): the weights in the ``models`` bucket, what it
    was trained on (the data set's hash, how many events) and how it scored on the events held out.
    At most one version per organization is active: the one its new events are scored with."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    org = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+",
                            db_constraint=False)
    version = models.PositiveIntegerField(help_text="1, 2, ... per organization, in training order.")
    created_at = models.DateTimeField()
    artifact_key = models.CharField(max_length=256, help_text="Key of the TorchScript file in the models bucket.")
    dataset_hash = models.CharField(max_length=64, help_text=(
        "SHA-256 of the ordered training samples' event ids and labels."))
    samples = models.PositiveIntegerField(help_text="Labelled events it learnt from and was tested on.")
    metrics = models.JSONField(default=dict, help_text="Held-out accuracy, precision, recall, F1, AUC, loss.")
    parameters = models.JSONField(default=dict, help_text="Training parameters (epochs, seed, sizes).")
    training_run = models.ForeignKey("classifiers.TrainingRun", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", db_constraint=False)
    is_active = models.BooleanField(default=False, db_default=False)
    activated_at = models.DateTimeField(null=True, blank=True)
    activated_by = models.ForeignKey("tenancy.User", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", db_constraint=False)

    class Meta:
        db_table = "classifier_models"
        ordering = ("-version",)
        constraints = [
            models.UniqueConstraint(fields=("org", "version"), name="classifier_models_org_version"),
            models.UniqueConstraint(fields=("org",), condition=models.Q(is_active=True),
                                    name="classifier_models_one_active"),
        ]


class TrainingRun(models.Model):
    """A request to train the organization's classifier again, and how it went: queued (by the
    API or the trainer's command line), running, then succeeded with the version it made or failed
    with the reason (too few classified events, say)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    org = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+",
                            db_constraint=False)
    status = models.CharField(max_length=16, choices=TrainingStatus.choices, default=TrainingStatus.QUEUED)
    requested_by = models.ForeignKey("tenancy.User", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", db_constraint=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="", db_default="")
    model = models.ForeignKey(ClassifierModel, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", db_constraint=False)
    samples = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        db_table = "training_runs"
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=("org", "-created_at"), name="training_runs_org_created")]
