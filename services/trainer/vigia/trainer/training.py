"""Training one version: a stratified split, Lightning's loop, held-out metrics, a TorchScript file.

The split holds out ``test_share`` of each class (at least one event of each), seeded; the rest is
trained on for ``epochs`` epochs. Metrics are measured on the held-out events at a score of 0.5
(a false alarm is the positive class). The exported file is ``torch.jit.script`` of the classifier
with its input scaling: the correlator loads it with ``torch.jit.load`` and nothing else.
"""

from __future__ import annotations

import io
import logging
import math
import tempfile
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from vigia.trainer.dataset import Dataset
from vigia.trainer.model import FalseAlarmTask, FusionClassifier

log = logging.getLogger(__name__)


class NotEnoughExamples(ValueError):
    """Too few classified events (or too few of one class) to train on."""


@dataclass(frozen=True)
class TrainingOptions:
    epochs: int = 40
    batch_size: int = 16
    learning_rate: float = 2e-3
    test_share: float = 0.25
    min_samples: int = 8
    seed: int = 0
    accelerator: str = "auto"


@dataclass
class TrainedClassifier:
    model: FusionClassifier
    metrics: dict[str, Any]
    parameters: dict[str, Any]

    def torchscript(self) -> bytes:
        """The classifier as a TorchScript file (CPU)."""
        buffer = io.BytesIO()
        torch.jit.save(torch.jit.script(self.model.cpu().eval()), buffer)
        return buffer.getvalue()


def split(labels: list[int], test_share: float, seed: int) -> tuple[list[int], list[int]]:
    """Train and test indices: ``test_share`` of each class held out (one at least), seeded."""
    rng = np.random.default_rng(seed)
    train: list[int] = []
    test: list[int] = []
    for label in (0, 1):
        members = [i for i, value in enumerate(labels) if value == label]
        rng.shuffle(members)
        held = max(1, round(len(members) * test_share))
        test += members[:held]
        train += members[held:]
    return sorted(train), sorted(test)


def metrics_of(labels: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    """Accuracy, precision, recall, F1 at 0.5, ROC AUC and mean cross-entropy of ``scores``."""
    predicted = scores >= 0.5
    actual = labels >= 0.5
    tp = int(np.sum(predicted & actual))
    fp = int(np.sum(predicted & ~actual))
    fn = int(np.sum(~predicted & actual))
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = (2 * precision * recall / (precision + recall)) if precision and recall else (
        0.0 if precision is not None and recall is not None else None)
    clipped = np.clip(scores, 1e-7, 1 - 1e-7)
    loss = float(-np.mean(actual * np.log(clipped) + ~actual * np.log(1 - clipped))) if len(scores) else None
    return {"accuracy": float(np.mean(predicted == actual)) if len(scores) else None, "precision": precision,
            "recall": recall, "f1": f1, "auc": roc_auc(actual, scores), "loss": loss}


def roc_auc(actual: np.ndarray, scores: np.ndarray) -> float | None:
    """Probability that a random positive scores above a random negative (ties count half)."""
    positives, negatives = scores[actual], scores[~actual]
    if len(positives) == 0 or len(negatives) == 0:
        return None
    greater = (positives[:, None] > negatives[None, :]).sum()
    ties = (positives[:, None] == negatives[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(positives) * len(negatives)))


def predict(model: FusionClassifier, frames: np.ndarray, audio: np.ndarray, sensors: np.ndarray) -> np.ndarray:
    """False-alarm probabilities of a batch of samples (CPU)."""
    model = model.cpu().eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(frames), torch.from_numpy(audio), torch.from_numpy(sensors))
    return torch.sigmoid(logits).numpy()


def train(dataset: Dataset, options: TrainingOptions) -> TrainedClassifier:
    """Train a classifier on ``dataset`` and measure it on its held-out part (blocking)."""
    positives = sum(dataset.labels)
    negatives = len(dataset) - positives
    if len(dataset) < options.min_samples or positives < 2 or negatives < 2:
        raise NotEnoughExamples(
            f"{len(dataset)} classified events with evidence ({positives} false, {negatives} true positives); "
            f"training needs {options.min_samples} with at least 2 of each")
    train_idx, test_idx = split(dataset.labels, options.test_share, options.seed)
    pl.seed_everything(options.seed, workers=False, verbose=False)
    frames, audio, sensors, labels = dataset.arrays(train_idx)
    model = FusionClassifier()
    model.fit_scaling(audio, sensors)
    train_positives = float(labels.sum())
    task = FalseAlarmTask(model, options.learning_rate,
                          pos_weight=(len(labels) - train_positives) / max(1.0, train_positives))
    loader = DataLoader(TensorDataset(torch.from_numpy(frames), torch.from_numpy(audio), torch.from_numpy(sensors),
                                      torch.from_numpy(labels)),
                        batch_size=options.batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(options.seed))
    with tempfile.TemporaryDirectory(prefix="vigia-trainer-") as root, warnings.catch_warnings():
        # Lightning's advice about dataloader workers and log intervals does not apply to a few hundred events.
        warnings.filterwarnings("ignore", module="pytorch_lightning")
        warnings.filterwarnings("ignore", module="lightning_fabric")
        trainer = pl.Trainer(max_epochs=options.epochs, accelerator=options.accelerator, devices=1,
                             logger=False, enable_checkpointing=False, enable_progress_bar=False,
                             enable_model_summary=False, default_root_dir=root, deterministic=True,
                             log_every_n_steps=max(1, math.ceil(len(labels) / options.batch_size)))
        trainer.fit(task, loader)
    test_frames, test_audio, test_sensors, test_labels = dataset.arrays(test_idx)
    scores = predict(model, test_frames, test_audio, test_sensors)
    metrics = {**metrics_of(test_labels, scores), "train_samples": len(train_idx), "test_samples": len(test_idx)}
    parameters = {"epochs": options.epochs, "batch_size": options.batch_size,
                  "learning_rate": options.learning_rate, "test_share": options.test_share, "seed": options.seed,
                  "accelerator": str(trainer.accelerator.__class__.__name__), "test_ids": [dataset.ids[i] for i in
                                                                                            test_idx]}
    log.info("classifier trained", extra={"samples": len(dataset), "metrics": metrics})
    return TrainedClassifier(model.cpu().eval(), metrics, parameters)
