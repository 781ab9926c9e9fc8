"""phonesim: simulated phones streaming sensors and audio to ingest-sensors, for tests and demos.

Modules: ``signals`` (deterministic sensor signals with injected anomalies, seed 002's generator),
``audio`` (background, infrasound, ultrasound and voice synthesis, PCM16), ``truth`` (ground-truth
JSON lines), ``link`` (one phone's WebSocket: auth, acks, reconnect with back-off, resend),
``fleet`` (N phones on one event loop), ``register`` (devices and tokens through the control API),
``testing`` (``run_phonesim`` for other services' tests).
"""
