"""Settings of the forecast service (environment variables with the ``VIGIA_`` prefix)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, model_validator

from vigia.common.broker import BrokerSettings
from vigia.common.settings import Duration, format_duration
from vigia.forecast.series import METRICS, MetricSpec, parse_metrics

DEFAULT_METRICS_PORT = 9107


class ForecastSettings(BrokerSettings):
    """Which device metrics are forecast, at which step and season, by which model, how often,
    and how far outside its band a reading must be to be an anomaly."""

    forecast_metrics: str = Field("mag_magnitude,audio_peak", max_length=2048, description=(
        "Comma-separated telemetry columns to forecast per device, each optionally with its own step "
        "and season: <column>[:<step>[:<season>]], e.g. mag_magnitude,audio_peak:30s:12h. Columns: "
        f"{', '.join(METRICS)}. Without them a metric takes VIGIA_FORECAST_STEP and VIGIA_FORECAST_SEASON."))
    forecast_step: Duration = Field(timedelta(minutes=1), description="Default resampling step of a metric: "
                                    "its readings are averaged over steps this long (1m, 30s, 5m...).")
    forecast_season: Duration = Field(timedelta(days=1), description="Default seasonal period of a metric "
                                      "(one day of steps: its daily rhythm); a whole number of steps.")
    forecast_model: str | None = Field(None, max_length=64, description="Forecasting model, a name of the "
                                       "forecast registry (vigia.forecast.models.names()); default: the "
                                       "registry's default. A series shorter than it needs gets the "
                                       "statistical model, and the stored forecast says so.")
    forecast_model_path: str | None = Field(None, max_length=1024, description="Directory of the model's "
                                            "weights, for models that load them (ttm: a save_pretrained "
                                            "directory); nothing is downloaded.")
    forecast_refresh_s: float = Field(300.0, gt=0, le=86_400, description="How often every active device's "
                                      "metrics are forecast again (s); POST /api/v1/devices/{id}/forecast/refresh "
                                      "asks for one device at once.")
    forecast_active_s: float = Field(3600.0, gt=0, le=30 * 86_400, description="Devices seen (devices.last_seen) "
                                     "within this long are forecast on the schedule (s).")
    forecast_residual_threshold: float = Field(1.0, gt=0, le=100, description="A resampled reading is a "
                                               "forecast anomaly when it lies farther from the forecast mean "
                                               "than this many times the band's half-width on its side (1: "
                                               "anywhere outside the band).")
    forecast_min_history_steps: int = Field(60, ge=0, le=100_000, description="A forecast made from fewer "
                                            "steps of history is stored and shown, but readings are not "
                                            "judged against its band (a few steps give no honest band).")
    forecast_lease_s: float = Field(30.0, gt=0, le=3600, description="Lifetime of the forecast:leader lease "
                                    "in Redis: one replica runs the scheduled rounds; a dead leader is "
                                    "replaced within this time (s).")
    forecast_instance: str | None = Field(None, max_length=128, description="Name of this forecast replica "
                                          "in the leader lease, broker connection names and logs. Default: "
                                          "host, pid and a random id.")

    @model_validator(mode="after")
    def _metrics_parse(self) -> ForecastSettings:
        try:
            parse_metrics(self.forecast_metrics, self.forecast_step, self.forecast_season)
        except ValueError as exc:
            raise ValueError(f"VIGIA_FORECAST_METRICS (default step {format_duration(self.forecast_step)}, "
                             f"season {format_duration(self.forecast_season)}): {exc}") from None
        return self

    def model_options(self) -> dict[str, object]:
        """What :func:`vigia.forecast.models.build` is given besides the name."""
        return {"path": self.forecast_model_path} if self.forecast_model_path else {}

    def metric_specs(self) -> list[MetricSpec]:
        """``forecast_metrics`` with each metric's step and season resolved."""
        return parse_metrics(self.forecast_metrics, self.forecast_step, self.forecast_season)


MODELS = (ForecastSettings,)
