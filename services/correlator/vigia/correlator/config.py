"""Settings of the correlator (env prefix ``VIGIA_``).

The correlation knobs here are the defaults of every organization; an organization overrides them
in its ``settings`` JSON under ``"correlation"`` (see :class:`vigia.correlator.scoring.CorrelationConfig`).
"""

from __future__ import annotations

from pydantic import Field

from vigia.common.broker import BrokerSettings

DEFAULT_METRICS_PORT = 9105


class CorrelatorSettings(BrokerSettings):
    """How signals are joined into incidents and how their evidence is bundled."""

    correlation_window_ms: int = Field(1000, ge=10, le=600_000, description="Signals of one site whose "
                                       "observation times fit in this window are joined (ms).")
    correlation_threshold: float = Field(0.6, ge=0, le=10, description="Score (sum of the weights of the "
                                         "distinct signal kinds in a window) from which an event is raised.")
    correlation_weight_magnetic: float = Field(0.4, ge=0, le=1, description="Weight of a magnetic anomaly "
                                               "in the correlation score.")
    correlation_weight_audio: float = Field(0.4, ge=0, le=1, description="Weight of an audio anomaly "
                                            "(infrasound, ultrasound, voice) in the correlation score.")
    correlation_weight_humanoid: float = Field(0.2, ge=0, le=1, description="Weight of a person: a phone's "
                                               "humanoid flag or a camera's person detection.")
    correlation_weight_imu: float = Field(0.0, ge=0, le=1, description="Weight of an IMU anomaly (sudden "
                                          "motion of the phone) in the correlation score.")
    correlation_weight_forecast: float = Field(0.2, ge=0, le=1, description="Weight of a forecast anomaly "
                                               "(a device metric outside its forecast band, from the forecast "
                                               "service) in the correlation score.")
    correlation_person_min_confidence: float = Field(0.5, ge=0, le=1, description="Person detections "
                                                     "below this confidence are not a signal.")
    correlation_severity_medium: float = Field(0.8, ge=0, le=10, description="Score from which an event "
                                               "is medium (below: low).")
    correlation_severity_high: float = Field(1.0, ge=0, le=10, description="Score from which an event is "
                                             "high.")
    correlation_severity_critical: float = Field(1.0, ge=0, le=10, description="Score from which an event "
                                                 "is critical when enough sensors agree "
                                                 "(VIGIA_CORRELATION_SEVERITY_CRITICAL_SENSORS).")
    correlation_severity_critical_sensors: int = Field(2, ge=1, le=100, description="Distinct devices and "
                                                       "cameras whose signals a critical event's window holds.")
    correlation_fold_window_s: float = Field(600.0, ge=0, le=86_400, description="A new incident at the same "
                                             "site within this long of a previous one, whose signal kinds that "
                                             "one all saw and no more severe, reopens its event (one more "
                                             "occurrence) unless it was resolved (s); 0: never fold.")
    incident_quiet_s: float = Field(5.0, gt=0, le=3600, description="An incident closes after this long "
                                    "without a sustaining signal from its site (one whose window scores at "
                                    "least half the threshold: not a person alone); signals before that "
                                    "update it (s).")
    incident_max_s: float = Field(300.0, gt=0, le=86_400, description="An incident closes after lasting "
                                  "this long even if signals keep coming; the next scoring window opens "
                                  "another (s).")
    incident_max_sources: int = Field(200, ge=1, le=10_000, description="Most sources one event lists; "
                                      "later signals still extend the incident.")
    correlator_tick_s: float = Field(0.25, gt=0, le=60, description="How often the correlator closes "
                                     "quiet incidents and looks for due evidence jobs (s).")
    correlator_redis_prefix: str = Field("correlator:", min_length=1, max_length=64, description="Prefix "
                                         "of the correlator's Redis keys (window and incident state, "
                                         "evidence jobs).")
    org_config_ttl_s: float = Field(30.0, ge=0, le=3600, description="How long an organization's "
                                    "correlation overrides are cached before being read again (s).")
    evidence_margin_s: float = Field(5.0, ge=0, le=300, description="Evidence covers the incident plus "
                                     "this margin before and after it (±N s).")
    evidence_delay_s: float = Field(2.0, ge=0, le=3600, description="Extra wait after an incident closed "
                                    "(and its after-margin passed) before its evidence is built (s).")
    evidence_retry_s: float = Field(60.0, gt=0, le=86_400, description="A failed (or abandoned) evidence "
                                    "job is tried again after this long (s).")
    evidence_max_frames: int = Field(600, ge=1, le=100_000, description="Most camera frames one video "
                                     "holds.")
    evidence_ffmpeg_path: str = Field("ffmpeg", description="FFmpeg executable that encodes evidence video.")
    false_alarm_model_ttl_s: float = Field(300.0, ge=0, le=86_400, description="How long the correlator keeps "
                                           "an organization's active false-alarm classifier before asking the "
                                           "database again (s); an activation (model.activated) drops it at once.")
    evidence_ffmpeg_timeout_s: float = Field(60.0, gt=0, le=3600, description="Longest an evidence video encode "
                                    "may take (s).")


MODELS = (CorrelatorSettings,)
