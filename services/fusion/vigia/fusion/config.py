"""Settings of the fusion worker (environment variables with the ``VIGIA_`` prefix)."""

from __future__ import annotations

from pydantic import Field

from vigia.common.broker import BrokerSettings

DEFAULT_METRICS_PORT = 9104


class FusionSettings(BrokerSettings):
    """Which shards to consume, how telemetry is batched, and how sensitive each detector is."""

    fusion_shards: str = Field("", max_length=1024, description="Comma-separated fusion.sensors.<shard> "
                               "numbers this fusion replica may take (empty: any of 0..VIGIA_SENSOR_SHARDS-1); "
                               "replicas share the shards through Redis leases, each its fair share.")
    fusion_prefetch: int = Field(64, ge=1, le=10_000, description="Unacknowledged sensor messages fusion "
                                 "holds per shard queue; they are written together, so this bounds the "
                                 "COPY batch size as well as memory.")
    fusion_batch_rows: int = Field(5000, ge=1, le=1_000_000, description="Telemetry rows fusion collects "
                                   "before it writes them with one COPY, at the latest after "
                                   "VIGIA_FUSION_BATCH_LINGER_MS.")
    fusion_batch_linger_ms: float = Field(20.0, ge=0, le=10_000, description="Longest time a telemetry row "
                                          "waits for others to share its COPY (ms).")
    fusion_db_retry_max_s: float = Field(10.0, gt=0, le=300, description="Upper bound of the doubling "
                                         "back-off between telemetry write attempts while PostgreSQL is "
                                         "unreachable (s); messages stay unacknowledged meanwhile.")
    fusion_magnetic_window: int = Field(100, ge=5, le=100_000, description="Samples in the rolling window "
                                        "the magnetic detector computes mean and standard deviation over.")
    fusion_magnetic_sigma: float = Field(3.0, gt=0, le=100, description="A magnetic magnitude more than "
                                         "this many standard deviations from the window mean is an anomaly "
                                         "(severity: > 3 sigma medium, > 4 sigma high, > 5 sigma critical).")
    fusion_magnetic_min_std: float = Field(0.1, ge=0, le=1000, description="Floor of the magnetic window's "
                                           "standard deviation (µT): a perfectly steady signal does not turn "
                                           "sensor noise into anomalies.")
    fusion_min_samples: int = Field(20, ge=2, le=100_000, description="Samples a rolling window needs "
                                    "before its detector may flag anything.")
    fusion_imu_window: int = Field(50, ge=5, le=100_000, description="Samples in the rolling windows of "
                                   "the IMU detector (acceleration and rotation-rate magnitudes).")
    fusion_imu_sigma: float = Field(5.0, gt=0, le=100, description="An acceleration or rotation-rate "
                                    "magnitude more than this many standard deviations from its window "
                                    "mean is a sudden movement (imu anomaly).")
    fusion_imu_acc_min_std: float = Field(0.1, ge=0, le=1000, description="Floor of the acceleration "
                                          "window's standard deviation (m/s²).")
    fusion_imu_gyro_min_std: float = Field(0.05, ge=0, le=1000, description="Floor of the rotation-rate "
                                           "window's standard deviation (rad/s).")
    fusion_audio_window_s: float = Field(1.0, ge=0.1, le=30, description="Seconds of a device's most "
                                         "recent audio the audio detector analyses at each chunk (infrasound "
                                         "needs at least 0.25 s).")
    fusion_audio_prominence_db: float = Field(20.0, gt=0, le=120, description="How far (dB) the strongest "
                                              "infrasound (<20 Hz) or ultrasound (>18 kHz) bin must rise above "
                                              "the chunk's median spectral level to be an anomaly.")
    fusion_audio_min_level_db: float = Field(-35.0, ge=-200, le=0, description="Band level (dB re full "
                                             "scale) below which infrasound/ultrasound is ignored as "
                                             "background (phones' ambient noise reaches -45 dB).")
    fusion_voice_min_frames: float = Field(0.4, gt=0, le=1, description="Fraction of a chunk's voiced "
                                           "frames whose LPC formants must look like speech (F1 250-1000 Hz, "
                                           "F2 700-3800 Hz) for an audio_voice anomaly.")
    fusion_anomaly_cooldown_s: float = Field(2.0, ge=0, le=3600, description="After fusion reports an "
                                             "anomaly of one kind for one device, further ones of that kind "
                                             "are folded into it for this long (device time, s).")
    fusion_audio_stream_maxlen: int = Field(600, ge=1, le=1_000_000, description="Approximate length of "
                                            "each Redis stream device:<id>:audio fusion appends chunks to.")
    fusion_device_idle_s: float = Field(600.0, gt=0, le=86_400 * 7, description="A device silent this "
                                        "long has its detector state dropped from memory (s).")
    fusion_instance: str | None = Field(None, max_length=128, description="Name of this fusion replica in "
                                        "broker connection names and logs. Default: host and pid.")


MODELS = (FusionSettings,)
