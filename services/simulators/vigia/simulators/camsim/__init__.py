"""camsim: simulated RTSP street cameras with Brazilian plates, for tests, demos and benchmarks.

Modules: ``plates`` (valid plate strings, plate images), ``actors``/``scene`` (deterministic
rendering), ``truth`` (ground-truth intervals), ``server`` (GStreamer RTSP server, run by Debian's
system python3), ``launcher`` (start/stop that server from the venv), ``register`` (control API),
``testing`` (``run_camsim`` for other services' tests). Only numpy and OpenCV are imported here
and by the rendering modules, so the server can run them outside the venv.
"""
