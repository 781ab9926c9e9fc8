"""Settings of the trainer (environment variables with the ``VIGIA_`` prefix)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from vigia.common.broker import BrokerSettings

DEFAULT_METRICS_PORT = 9113


class TrainerSettings(BrokerSettings):
    """How the false-alarm classifier is trained: epochs, batch, learning rate, the share of
    classified events held out to measure it, and the fewest it trains on."""

    trainer_epochs: int = Field(40, ge=1, le=10_000, description="Training epochs over the classified events.")
    trainer_batch_size: int = Field(16, ge=1, le=4096, description="Events per training batch.")
    trainer_learning_rate: float = Field(2e-3, gt=0, le=1, description="Adam learning rate.")
    trainer_test_share: float = Field(0.25, gt=0, lt=1, description="Share of each class of classified events "
                                      "held out to measure the new version (its metrics).")
    trainer_min_samples: int = Field(8, ge=4, le=1_000_000, description="Fewest classified events with an "
                                     "evidence bundle a run trains on, with at least two of each class; fewer: "
                                     "the run fails saying so.")
    trainer_max_samples: int = Field(20_000, ge=4, le=10_000_000, description="Most recent classified events "
                                     "a run reads.")
    trainer_seed: int = Field(0, ge=0, description="Seed of the split and of the weights' initialisation.")
    trainer_stale_run_s: float = Field(7200.0, gt=0, le=30 * 86_400, description="A run still marked running "
                                       "this long after it started is taken for one whose trainer died: a trainer "
                                       "starting marks it failed (s).")
    trainer_accelerator: Literal["auto", "cpu", "gpu"] = Field("auto", description="Where Lightning trains: "
                                                                "auto takes a GPU when there is one.")
    trainer_ffmpeg_path: str = Field("ffmpeg", max_length=1024, description="FFmpeg, to decode the "
                                     "bundles' video frames.")
    trainer_instance: str | None = Field(None, max_length=128, description="Name of this trainer in broker "
                                         "connection names and logs. Default: host and pid.")
