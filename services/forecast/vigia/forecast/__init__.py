"""Vigia forecast: each device metric resampled to its step, forecast ``horizon`` steps ahead from
the last ``context`` steps by a model of the registry (:mod:`vigia.forecast.models`), the forecasts
stored, and readings outside the forecast band published as ``anomaly.detected`` of kind
``forecast``."""
