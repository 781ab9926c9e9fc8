"""``python -m vigia.simulators.camsim``: serve simulated RTSP cameras until SIGTERM/SIGINT.

    python -m vigia.simulators.camsim --cameras 2 --port 8554 --fps 10 --gop 25 \\
        --size 1280x720 --truth var/camsim/truth.jsonl [--register]

Starts the RTSP server under Debian's system python3 (see ``launcher``), prints one URL per
camera, optionally registers the cameras (``camsim-1``, ``camsim-2``…, site ``demo-site``) with
the control API, and stops the server when told to stop or when it dies (exit code 1 then).
With ``--commands PORT``, ``POST http://127.0.0.1:PORT/inject {"camera": "cam1", "lead_s": 0.5}``
makes a person cross that camera's foreground now (the intruder camsim otherwise sends every
``--intruder-every`` seconds), for a demo or a test that needs an incident on demand.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from vigia.simulators.camsim.launcher import CamsimError, CamsimServer, ServerOptions
from vigia.simulators.camsim.register import DEFAULT_API, DEFAULT_EMAIL, RegistrationError, register_cameras

log = logging.getLogger("vigia.simulators.camsim")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m vigia.simulators.camsim",
                                description="Serve simulated RTSP cameras with Brazilian plates.")
    p.add_argument("--cameras", type=int, default=2, help="number of cameras (/cam1 … /camN)")
    p.add_argument("--port", type=int, default=8554, help="RTSP port (0: any free port)")
    p.add_argument("--bind", default="127.0.0.1", help="address to listen on")
    p.add_argument("--fps", type=float, default=10.0, help="frames per second of each stream")
    p.add_argument("--gop", type=int, default=25, help="frames between key frames")
    p.add_argument("--size", default="1280x720", help="WIDTHxHEIGHT")
    p.add_argument("--bitrate", type=int, default=0, help="kbit/s per camera (0: 2500 at 720p10, scaled)")
    p.add_argument("--seed", type=int, default=1, help="scene seed")
    p.add_argument("--truth", type=Path, default=None, help="append ground-truth JSON lines here")
    p.add_argument("--intruder-every", type=float, default=0.0, help="a person crosses each camera's "
                   "foreground every this many seconds (0: never; else 12 or more)")
    p.add_argument("--commands", type=int, default=None, metavar="PORT",
                   help="take commands on this loopback port: POST /inject makes a person cross a camera's "
                   "foreground now (0: any free port; default: none)")
    p.add_argument("--rtsp-user", default=os.environ.get("VIGIA_CAMSIM_USER") or None,
                   help="require RTSP basic auth (env VIGIA_CAMSIM_USER)")
    p.add_argument("--rtsp-password", default=os.environ.get("VIGIA_CAMSIM_PASSWORD"),
                   help="RTSP password (env VIGIA_CAMSIM_PASSWORD)")
    p.add_argument("--python", default=None, help="interpreter with GStreamer (default $VIGIA_CAMSIM_PYTHON "
                   "or /usr/bin/python3)")
    reg = p.add_argument_group("registration with the control API")
    reg.add_argument("--register", action="store_true", help="create/update cameras camsim-1… in the API")
    reg.add_argument("--api", default=os.environ.get("VIGIA_CONTROL_URL", DEFAULT_API), help="control API URL")
    reg.add_argument("--email", default=os.environ.get("VIGIA_DEMO_EMAIL", DEFAULT_EMAIL), help="sign-in e-mail")
    reg.add_argument("--password", default=os.environ.get("VIGIA_DEMO_PASSWORD"),
                     help="sign-in password (env VIGIA_DEMO_PASSWORD)")
    reg.add_argument("--password-file", type=Path, default=None,
                     help="read the sign-in password from this file when no password is given")
    reg.add_argument("--site", default="demo-site", help="site of the registered cameras")
    reg.add_argument("--sample-fps", type=float, default=1.0, help="sampling fps of the registered cameras")
    reg.add_argument("--public-host", default=None, help="host name in registered URLs (default: bind address)")
    args = p.parse_args(argv)
    try:
        args.width, args.height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        p.error("--size must be WIDTHxHEIGHT, e.g. 1280x720")
    # An explicit or environment password wins over the file, as in `make demo`.
    if args.register and not args.password and args.password_file is not None:
        try:
            args.password = args.password_file.read_text().strip()
        except OSError as exc:
            p.error(f"--password-file: {exc.strerror}")
    if args.register and not args.password:
        p.error("--register needs --password, --password-file or VIGIA_DEMO_PASSWORD")
    return args


def _register(cameras: dict[str, str], args: argparse.Namespace) -> None:
    try:
        done = register_cameras(cameras, api=args.api, email=args.email, password=args.password, site=args.site,
                                fps=args.sample_fps)
    except RegistrationError as exc:
        log.error("registration failed, serving anyway: %s", exc)  # the cameras stay usable by URL
        return
    log.info("registered %s", ", ".join(f"{c.name} ({'created' if c.created else 'updated'})" for c in done))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s camsim %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # registration: its summary line is enough
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    options = ServerOptions(cameras=args.cameras, port=args.port, bind=args.bind, fps=args.fps, gop=args.gop,
                            size=(args.width, args.height), bitrate=args.bitrate, seed=args.seed, truth=args.truth,
                            intruder_every_s=args.intruder_every, commands=args.commands,
                            user=args.rtsp_user, password=args.rtsp_password)
    server = CamsimServer(options, python=args.python)
    try:
        server.start()
    except CamsimError as exc:
        log.error("%s", exc)
        return 1
    try:
        for url in server.urls(credentials=False):
            print(url, flush=True)
        if args.register:
            # In a thread: waiting for the control API to come up must not delay a SIGTERM.
            cameras = {f"camsim-{i}": url for i, url in enumerate(server.urls(host=args.public_host), 1)}
            threading.Thread(target=_register, args=(cameras, args), name="register", daemon=True).start()
        while not stop.wait(0.5):
            if server.process is not None and server.process.poll() is not None:
                # 0: it was signalled with us (same process group, e.g. Ctrl-C); else it failed.
                code = server.process.returncode
                if code != 0:
                    log.error("RTSP server exited with %s", code)
                return 0 if code == 0 else 1
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
