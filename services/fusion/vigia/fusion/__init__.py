"""vigia.fusion: per-device sensor fusion — anomaly detectors, telemetry writer, audio relay."""
