"""Seed 000's fusion classifier (its ``ml/models``: a video encoder, a 1-D audio CNN and a fusion MLP),
small enough to train on a CPU in minutes.

The seed named EfficientNet through ``timm`` pretrained weights for the frames: those would be
downloaded at run time, and on a few hundred events they would only overfit, so the frame encoder
is a small CNN trained from scratch, shared over the frames and pooled (mean and max) across them.
The seed's sensor path was a hand-written sum of flags (``CorrelationEngine``: 0.4 magnetic, 0.4
audio, 0.2 humanoid, its ``Optional`` never imported); here an MLP learns from the window's statistics
and those flags. The inputs' scaling is learnt from the training set and travels in the model's
buffers, so the exported TorchScript file is all the correlator needs.
"""

# No ``from __future__ import annotations``: TorchScript reads the buffers' annotations as types.
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch import nn

from vigia.common.false_alarms import AUDIO_BANDS, SENSOR_FEATURES


class FusionClassifier(nn.Module):
    """Logit that an event is a false alarm, from ``frames`` (B, F, 3, S, S), ``audio``
    (B, AUDIO_BANDS, T) and ``sensors`` (B, SENSOR_FEATURES)."""

    audio_mean: torch.Tensor
    audio_std: torch.Tensor
    sensor_mean: torch.Tensor
    sensor_std: torch.Tensor

    def __init__(self, frame_width: int = 16, audio_width: int = 16, sensor_width: int = 32,
                 dropout: float = 0.2) -> None:
        super().__init__()
        self.frame_encoder = nn.Sequential(
            nn.Conv2d(3, frame_width, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(frame_width, frame_width, 3, stride=2, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.audio_encoder = nn.Sequential(
            nn.Conv1d(AUDIO_BANDS, audio_width, 5, padding=2), nn.ReLU(), nn.MaxPool1d(2),
            nn.Conv1d(audio_width, audio_width, 5, padding=2), nn.ReLU(),
            nn.AdaptiveMaxPool1d(1), nn.Flatten())
        self.sensor_encoder = nn.Sequential(
            nn.Linear(SENSOR_FEATURES, sensor_width), nn.ReLU(), nn.Linear(sensor_width, sensor_width), nn.ReLU())
        self.head = nn.Sequential(
            nn.Linear(2 * frame_width + audio_width + sensor_width, 32), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(32, 1))
        self.register_buffer("audio_mean", torch.zeros(AUDIO_BANDS, 1))
        self.register_buffer("audio_std", torch.ones(AUDIO_BANDS, 1))
        self.register_buffer("sensor_mean", torch.zeros(SENSOR_FEATURES))
        self.register_buffer("sensor_std", torch.ones(SENSOR_FEATURES))

    def fit_scaling(self, audio: np.ndarray, sensors: np.ndarray) -> None:
        """Learn the inputs' centring and scale from the training set's arrays."""
        self.audio_mean.copy_(torch.from_numpy(audio.mean(axis=(0, 2))[:, None]))
        self.audio_std.copy_(torch.from_numpy(audio.std(axis=(0, 2))[:, None] + 1e-3))
        self.sensor_mean.copy_(torch.from_numpy(sensors.mean(axis=0)))
        self.sensor_std.copy_(torch.from_numpy(sensors.std(axis=0) + 1e-3))

    def forward(self, frames: torch.Tensor, audio: torch.Tensor, sensors: torch.Tensor) -> torch.Tensor:
        batch, count = frames.shape[0], frames.shape[1]
        per_frame = self.frame_encoder(frames.flatten(0, 1)).view(batch, count, -1)
        frame_features = torch.cat([per_frame.mean(dim=1), per_frame.amax(dim=1)], dim=1)
        audio_features = self.audio_encoder((audio - self.audio_mean) / self.audio_std)
        sensor_features = self.sensor_encoder((sensors - self.sensor_mean) / self.sensor_std)
        return self.head(torch.cat([frame_features, audio_features, sensor_features], dim=1)).squeeze(1)


class FalseAlarmTask(pl.LightningModule):
    """Lightning's training of a :class:`FusionClassifier`: weighted binary cross-entropy (the
    rarer class weighs more), Adam."""

    def __init__(self, model: FusionClassifier, learning_rate: float, pos_weight: float) -> None:
        super().__init__()
        self.model = model
        self.learning_rate = learning_rate
        self.loss = nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pos_weight))

    def forward(self, frames: torch.Tensor, audio: torch.Tensor, sensors: torch.Tensor) -> torch.Tensor:
        result: torch.Tensor = self.model(frames, audio, sensors)
        return result

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        frames, audio, sensors, labels = batch
        loss: torch.Tensor = self.loss(self(frames, audio, sensors), labels)
        self.log("train_loss", loss, prog_bar=False, batch_size=len(labels))
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.learning_rate, weight_decay=1e-4)
