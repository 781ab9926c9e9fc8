"""camsim's RTSP server: N synthetic cameras at ``rtsp://<host>:<port>/cam<i>``, H.264 over RTP.

Runs under Debian's **system** python3, which has GStreamer's introspection bindings
(``python3-gi``, ``gir1.2-gst-rtsp-server-1.0``) together with ``python3-numpy`` and
``python3-opencv``; the venv has none of GStreamer. Launch it with this source tree on the path::

    PYTHONPATH=services/simulators /usr/bin/python3 -m vigia.simulators.camsim.server \\
        --cameras 2 --port 8554 --fps 10 --gop 25 --size 1280x720 --truth var/camsim/truth.jsonl

(``python -m vigia.simulators.camsim`` in the venv does exactly this for you.) Once listening it
prints one JSON line on stdout: ``{"event": "ready", "port": 8554, "paths": ["/cam1", ...]}``;
``--port 0`` picks a free port; with ``--commands PORT`` the line also gives the command port
(``POST /inject``, see :func:`_injector`). SIGTERM or SIGINT stops it: open truth intervals are written
(``complete: false``) and it exits 0. Logs are JSON lines on stderr and never carry the password.

Each camera renders its scene on wall-clock time from the moment the server starts, so frame
``i`` is due at ``epoch + i / fps`` whether or not anyone watches; the ground truth is kept for
every frame, pixels are only drawn and encoded while a client is connected (one shared pipeline
per camera however many clients).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import cv2
import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

from vigia.simulators.camsim.scene import Scene, SceneConfig  # noqa: E402
from vigia.simulators.camsim.truth import TruthLog, TruthTracker, intruder_records  # noqa: E402
from vigia.simulators.commands import CommandError, CommandServer  # noqa: E402

log = logging.getLogger("vigia.simulators.camsim.server")
ROLE = "camsim-viewer"


class CameraFeed:
    """One camera: its scene on wall-clock time, its ground truth, and the encoders it feeds."""

    def __init__(self, name: str, scene: Scene, truth: TruthLog, epoch_wall: float, epoch_mono: float) -> None:
        self.name, self.scene, self.truth = name, scene, truth
        self.epoch_mono, self.epoch_wall = epoch_mono, epoch_wall
        self.tracker = TruthTracker(name, scene.config.fps, epoch_wall)
        self._sinks: list[Any] = []
        self._lock = threading.Lock()
        self._next_truth = 0
        self.frames_pushed = 0
        self.frames_skipped = 0

    def attach(self, appsrc: Any) -> None:
        with self._lock:
            self._sinks.append(appsrc)
        log.info("client pipeline attached", extra={"camera": self.name})

    def detach(self, appsrc: Any) -> None:
        with self._lock:
            if appsrc in self._sinks:
                self._sinks.remove(appsrc)
        log.info("client pipeline detached", extra={"camera": self.name})

    def run(self, stop: threading.Event) -> None:
        """Render and push frames on time until ``stop``; frames that are late are skipped, not queued."""
        fps = self.scene.config.fps
        duration = int(Gst.SECOND / fps)
        frame = 0
        while not stop.is_set():
            wait = self.epoch_mono + frame / fps - time.monotonic()
            if wait > 0:
                stop.wait(wait)
                continue
            due = int((time.monotonic() - self.epoch_mono) * fps)
            if due > frame:
                self.frames_skipped += due - frame
                frame = due
            self._account(frame)
            with self._lock:
                sinks = list(self._sinks)
            if sinks:
                data = cv2.cvtColor(self.scene.render(frame), cv2.COLOR_BGR2YUV_I420).tobytes()
                for appsrc in sinks:
                    buf = Gst.Buffer.new_wrapped(data)
                    buf.duration = duration
                    appsrc.emit("push-buffer", buf)
                self.frames_pushed += 1
            frame += 1

    def _account(self, frame: int) -> None:
        # Truth covers every frame, including those skipped or drawn for nobody.
        for f in range(self._next_truth, frame + 1):
            self.truth.write(self.tracker.observe(f, self.scene.plates(f)))
        self.truth.write(intruder_records(self.scene, range(self._next_truth, frame + 1), self.name, self.epoch_wall))
        self._next_truth = frame + 1

    def close(self) -> None:
        self.truth.write(self.tracker.close())


def launch_line(width: int, height: int, fps: float, gop: int, bitrate: int) -> str:
    """The GStreamer pipeline of one camera: raw I420 frames in, H.264 RTP out (``pay0``)."""
    rate = Fraction(fps).limit_denominator(1001)
    frame_bytes = width * height * 3 // 2
    return (
        f"( appsrc name=src is-live=true format=time do-timestamp=true block=false max-buffers=2 "
        f"max-bytes={frame_bytes * 3} leaky-type=downstream "
        f"caps=video/x-raw,format=I420,width={width},height={height},framerate={rate.numerator}/{rate.denominator} "
        f"! queue max-size-buffers=2 leaky=downstream "
        # No scene-cut key frames: a key frame exactly every `gop` frames, as real cameras do.
        f"! x264enc tune=zerolatency speed-preset=ultrafast bitrate={bitrate} key-int-max={gop} bframes=0 "
        f"option-string=scenecut=0 "
        f"! video/x-h264,profile=constrained-baseline "
        f"! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )


def build_server(feeds: list[CameraFeed], args: argparse.Namespace) -> GstRtspServer.RTSPServer:
    server = GstRtspServer.RTSPServer()
    server.set_address(args.bind)
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    cfg = feeds[0].scene.config
    launch = launch_line(cfg.width, cfg.height, cfg.fps, args.gop, args.bitrate)
    permissions = None
    if args.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, ROLE)
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), token)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_permission_for_role(ROLE, GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
        permissions.add_permission_for_role(ROLE, GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True)
    for feed in feeds:
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch)
        factory.set_shared(True)
        if permissions is not None:
            factory.set_permissions(permissions)
        factory.connect("media-configure", _on_media_configure, feed)
        mounts.add_factory(f"/{feed.name}", factory)
    return server


def _on_media_configure(factory: Any, media: Any, feed: CameraFeed) -> None:
    appsrc = media.get_element().get_child_by_name("src")
    feed.attach(appsrc)
    media.connect("unprepared", lambda _media: feed.detach(appsrc))


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line; the venv's vigia.common is not importable under system python3."""

    def format(self, record: logging.LogRecord) -> str:
        out = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name,
               "message": record.getMessage()}
        if hasattr(record, "camera"):
            out["camera"] = record.camera
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out)


def _die_with_parent() -> None:
    # A test or supervisor that dies without stopping us must not leave a server holding its port.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _injector(feeds: list[CameraFeed]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The ``inject`` command: ``{"camera": "cam1", "lead_s": 0.5, "direction": 1}`` (all optional)
    makes a person cross that camera's foreground, entering ``lead_s`` from now; answers with the
    intruder's actor id and its entry and exit times (wall clock, s), as the truth log records them."""
    by_name = {f.name: f for f in feeds}

    def inject(body: dict[str, Any]) -> dict[str, Any]:
        name, lead_s, direction = body.get("camera", feeds[0].name), body.get("lead_s", 0.5), body.get("direction")
        feed = by_name.get(name) if isinstance(name, str) else None
        if feed is None:
            raise CommandError("camera", f"camera must be one of {sorted(by_name)}")
        if not isinstance(lead_s, int | float) or isinstance(lead_s, bool) or not 0 <= lead_s <= 60:
            raise CommandError("lead_s", "lead_s must be a number of seconds in [0, 60]")
        if direction not in (None, 1, -1):
            raise CommandError("direction", "direction must be 1 (from the left) or -1 (from the right)")
        t_enter = time.monotonic() - feed.epoch_mono + float(lead_s)
        intruder = feed.scene.inject_intruder(t_enter, direction)
        log.info("intruder injected", extra={"camera": feed.name})
        return {"camera": feed.name, "actor": intruder.id, "direction": intruder.direction,
                "enter": round(feed.epoch_wall + intruder.t_enter, 3),
                "exit": round(feed.epoch_wall + intruder.t_exit, 3)}

    return inject


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="vigia.simulators.camsim.server", description=__doc__.split("\n\n")[0])
    p.add_argument("--cameras", type=int, default=2, help="number of cameras (/cam1 … /camN)")
    p.add_argument("--bind", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8554, help="RTSP port; 0 picks a free one")
    p.add_argument("--fps", type=float, default=10.0, help="frames per second")
    p.add_argument("--gop", type=int, default=25, help="frames between key frames (x264 key-int-max)")
    p.add_argument("--size", default="1280x720", help="WIDTHxHEIGHT")
    p.add_argument("--bitrate", type=int, default=0, help="kbit/s per camera; 0 scales 2500 at 720p10")
    p.add_argument("--seed", type=int, default=1, help="scene seed; camera i uses seed * 1000 + i")
    p.add_argument("--truth", default=None, help="append ground-truth JSON lines to this file")
    p.add_argument("--intruder-every", type=float, default=0.0, help="a person crosses the foreground "
                   "every this many seconds (0: never; else 12 or more)")
    p.add_argument("--commands", type=int, default=None, metavar="PORT",
                   help="take commands on this loopback port (POST /inject; 0: any free port)")
    p.add_argument("--user", default=os.environ.get("VIGIA_CAMSIM_USER") or None,
                   help="require RTSP basic auth with this user (env VIGIA_CAMSIM_USER)")
    p.add_argument("--password", default=os.environ.get("VIGIA_CAMSIM_PASSWORD", ""),
                   help="password of --user (env VIGIA_CAMSIM_PASSWORD)")
    args = p.parse_args(argv)
    try:
        args.width, args.height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        p.error("--size must be WIDTHxHEIGHT, e.g. 1280x720")
    if not 1 <= args.cameras <= 64:
        p.error("--cameras must be between 1 and 64")
    if args.gop < 1:
        p.error("--gop must be at least 1")
    if not 0 <= args.port < 65536:
        p.error("--port must be between 0 and 65535")
    if args.commands is not None and not 0 <= args.commands < 65536:
        p.error("--commands must be between 0 and 65535")
    if args.bitrate <= 0:
        args.bitrate = max(300, round(2500 * args.width * args.height * args.fps / (1280 * 720 * 10)))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    _die_with_parent()
    Gst.init(None)
    try:
        configs = [SceneConfig(args.width, args.height, args.fps, args.seed * 1000 + i,
                               intruder_every_s=args.intruder_every) for i in range(1, args.cameras + 1)]
    except ValueError as exc:
        print(f"camsim: {exc}", file=sys.stderr)
        return 2

    truth = TruthLog(args.truth)
    epoch_wall, epoch_mono = time.time(), time.monotonic()
    feeds = [CameraFeed(f"cam{i}", Scene(c), truth, epoch_wall, epoch_mono) for i, c in enumerate(configs, 1)]
    truth.write([{"kind": "stream", "camera": f.name, "path": f"/{f.name}", "epoch": round(epoch_wall, 4),
                  "fps": args.fps, "width": args.width, "height": args.height, "gop": args.gop,
                  "seed": f.scene.config.seed, "intruder_every_s": f.scene.config.intruder_every_s}
                 for f in feeds])
    server = build_server(feeds, args)
    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        log.error("cannot listen on %s:%s", args.bind, args.port)
        return 1
    port = server.get_bound_port()

    stop = threading.Event()
    threads = [threading.Thread(target=f.run, args=(stop,), name=f.name, daemon=True) for f in feeds]
    for t in threads:
        t.start()
    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, loop.quit)
    commands = None
    if args.commands is not None:
        commands = CommandServer({"inject": _injector(feeds)}, port=args.commands).start()
    ready = {"event": "ready", "port": port, "paths": [f"/{f.name}" for f in feeds]}
    if commands is not None:
        ready["commands"] = commands.port
    print(json.dumps(ready), flush=True)
    log.info("serving %d cameras on rtsp://%s:%d (auth %s)", len(feeds), args.bind, port,
             "on" if args.user else "off")
    loop.run()

    if commands is not None:
        commands.close()
    stop.set()
    for t in threads:
        t.join(timeout=5)
    for f in feeds:
        f.close()
    truth.close()
    log.info("stopped", extra={"camera": None})
    return 0


if __name__ == "__main__":
    sys.exit(main())
