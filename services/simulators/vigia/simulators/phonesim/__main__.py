"""``python -m vigia.simulators.phonesim``: stream N simulated phones to ingest-sensors until SIGTERM.

    python -m vigia.simulators.phonesim --phones 3 --rate 10 --truth var/phonesim/truth.jsonl \\
        --register --password-file var/demo-password          # or: --tokens var/phonesim/tokens.jsonl

With ``--register`` the phones (``phonesim-1``…, site ``demo-site``) are created or updated in the
demo organization through the control API and get fresh tokens (saved to ``--tokens`` if given);
without it, ``--tokens`` names a file of ``{"name", "device", "token"}`` lines. With ``--commands
PORT`` it takes commands on http://127.0.0.1:PORT/ (vigia.simulators.commands):

    curl -X POST localhost:PORT/inject -d '{"phone": 0, "kind": "correlated", "lead_s": 1}'

plans an episode on that phone about ``lead_s`` from now (``kind``: "correlated" — a magnetic
spike with an audio burst, what the correlator turns into an event — or one anomaly kind) and
answers with its anomalies as the truth log will record them. On SIGTERM/SIGINT
(or after ``--duration`` s) the phones stop sampling, deliver what is unacked (up to
``--drain-timeout`` s), and one JSON line of counters is printed (and written to ``--stats``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from vigia.simulators.commands import CommandError, CommandServer, Handler
from vigia.simulators.phonesim.fleet import Fleet, PhoneIdentity
from vigia.simulators.phonesim.register import (
    DEFAULT_API,
    DEFAULT_EMAIL,
    RegistrationError,
    read_tokens,
    register_phones,
    write_tokens,
)
from vigia.simulators.phonesim.signals import ALL_KINDS, CORRELATED, SignalConfig
from vigia.simulators.phonesim.truth import TruthLog

log = logging.getLogger("vigia.simulators.phonesim")

DEFAULT_URL = "ws://127.0.0.1:8002/api/v1/sensors/ws"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m vigia.simulators.phonesim",
                                description="Stream simulated phones (sensors and audio) to ingest-sensors.")
    p.add_argument("--phones", type=int, default=3, help="number of phones (with --register)")
    p.add_argument("--url", default=os.environ.get("VIGIA_PHONESIM_URL", DEFAULT_URL),
                   help="ingest-sensors WebSocket URL (env VIGIA_PHONESIM_URL)")
    p.add_argument("--rate", type=float, default=10.0, help="sensor packets per second per phone")
    p.add_argument("--audio-rate", type=int, default=48_000, help="audio sample rate in Hz (0: no audio)")
    p.add_argument("--chunk-seconds", type=float, default=0.5, help="audio chunk length (s)")
    p.add_argument("--seed", type=int, default=1, help="signal seed (phone i's signals depend on seed and i)")
    p.add_argument("--mean-gap", type=float, default=30.0, help="mean quiet time between injected episodes (s)")
    p.add_argument("--min-gap", type=float, default=12.0, help="least quiet time between injected episodes (s)")
    p.add_argument("--quiet-start", type=float, default=12.0,
                   help="no anomaly in the first seconds (detectors fill their windows)")
    p.add_argument("--correlated-share", type=float, default=0.35,
                   help="share of episodes where a magnetic spike and an audio burst coincide")
    p.add_argument("--kinds", default=",".join(ALL_KINDS), help="anomaly kinds to inject, comma-separated")
    p.add_argument("--truth", type=Path, default=None, help="append ground-truth JSON lines here")
    p.add_argument("--commands", type=int, default=None, metavar="PORT",
                   help="take commands (POST /inject) on this loopback port (0: any free port; default: none)")
    p.add_argument("--stats", type=Path, default=None, help="write the final counters (JSON) here")
    p.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (0: until SIGTERM)")
    p.add_argument("--auth", choices=("message", "query"), default="message",
                   help="send the token as the first frame (default) or in the URL query")
    p.add_argument("--batch", type=int, default=1, help="packets per frame while live")
    p.add_argument("--max-buffer", type=int, default=6000, help="unacked items kept per phone")
    p.add_argument("--drain-timeout", type=float, default=5.0, help="on stop, wait this long for acks (s)")
    p.add_argument("--tokens", type=Path, default=None,
                   help="tokens file: read it (without --register) or write it (with --register)")
    reg = p.add_argument_group("registration with the control API")
    reg.add_argument("--register", action="store_true", help="create/update devices phonesim-1… and get tokens")
    reg.add_argument("--api", default=os.environ.get("VIGIA_CONTROL_URL", DEFAULT_API), help="control API URL")
    reg.add_argument("--email", default=os.environ.get("VIGIA_DEMO_EMAIL", DEFAULT_EMAIL), help="sign-in e-mail")
    reg.add_argument("--password", default=os.environ.get("VIGIA_DEMO_PASSWORD"),
                     help="sign-in password (env VIGIA_DEMO_PASSWORD)")
    reg.add_argument("--password-file", type=Path, default=None,
                     help="read the sign-in password from this file when no password is given")
    reg.add_argument("--site", default="demo-site", help="site of the registered phones (camsim's cameras too)")
    reg.add_argument("--reporting-interval", type=float, default=1.0,
                     help="reporting interval of the registered devices (s): health goes WARNING after 2x")
    reg.add_argument("--name-prefix", default="phonesim", help="registered device names: <prefix>-1…")
    args = p.parse_args(argv)
    if args.phones < 1:
        p.error("--phones must be at least 1")
    args.kind_list = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    try:
        args.config = SignalConfig(rate=args.rate, audio_rate=args.audio_rate, chunk_seconds=args.chunk_seconds,
                                   mean_gap_s=args.mean_gap, min_gap_s=args.min_gap, first_after_s=args.quiet_start,
                                   correlated_share=args.correlated_share, kinds=args.kind_list)
    except ValueError as exc:
        p.error(str(exc))
    if args.register and not args.password and args.password_file is not None:
        try:
            args.password = args.password_file.read_text().strip()
        except OSError as exc:
            p.error(f"--password-file: {exc.strerror}")
    if args.register and not args.password:
        p.error("--register needs --password, --password-file or VIGIA_DEMO_PASSWORD")
    if not args.register and args.tokens is None:
        p.error("give --register (with the demo password) or --tokens FILE")
    return args


async def _identities(args: argparse.Namespace, stop: asyncio.Event) -> list[PhoneIdentity] | None:
    if not args.register:
        try:
            regs = read_tokens(args.tokens)
        except (OSError, ValueError) as exc:
            log.error("--tokens: %s", exc)
            return None
        return [PhoneIdentity(r.device, r.token, r.name) for r in regs]
    names = [f"{args.name_prefix}-{i}" for i in range(1, args.phones + 1)]
    job = asyncio.ensure_future(asyncio.to_thread(
        register_phones, names, api=args.api, email=args.email, password=args.password, site=args.site,
        reporting_interval=args.reporting_interval))
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({job, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if not job.done():  # told to stop while waiting for the API
        return None
    try:
        regs = job.result()
    except RegistrationError as exc:
        log.error("registration failed: %s", exc)
        return None
    log.info("registered %s", ", ".join(f"{r.name} ({'created' if r.created else 'new token'})" for r in regs))
    if args.tokens is not None:
        write_tokens(args.tokens, regs)
    return [PhoneIdentity(r.device, r.token, r.name) for r in regs]


def _injector(fleet: Fleet, loop: asyncio.AbstractEventLoop) -> Handler:
    """The ``inject`` command: ``{"phone": 0, "kind": "correlated", "lead_s": 1.0}`` (all optional),
    carried out on the fleet's event loop."""
    def inject(body: dict[str, Any]) -> dict[str, Any]:
        phone, kind, lead_s = body.get("phone", 0), body.get("kind", CORRELATED), body.get("lead_s", 1.0)
        if not isinstance(phone, int) or isinstance(phone, bool) or not 0 <= phone < len(fleet.phones):
            raise CommandError("phone", f"phone must be an integer 0..{len(fleet.phones) - 1}")
        if not isinstance(kind, str):
            raise CommandError("kind", "kind must be a string")
        if not isinstance(lead_s, int | float) or isinstance(lead_s, bool) or not 0 <= lead_s <= 60:
            raise CommandError("lead_s", "lead_s must be a number of seconds in [0, 60]")

        async def on_loop() -> list[dict[str, Any]]:
            return fleet.inject(phone, kind, float(lead_s))

        try:
            anomalies = asyncio.run_coroutine_threadsafe(on_loop(), loop).result(timeout=10)
        except ValueError as exc:
            raise CommandError("kind", str(exc)) from None
        return {"phone": phone, "device": fleet.phones[phone].identity.device, "anomalies": anomalies}

    return inject


async def run(args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    identities = await _identities(args, stop)
    if identities is None:
        return 0 if stop.is_set() else 1
    if not identities:
        log.error("no phones to run")
        return 1
    truth = TruthLog(args.truth) if args.truth is not None else None
    fleet = Fleet(identities, url=args.url, config=args.config, seed=args.seed, truth=truth,
                  link={"auth": args.auth, "batch": args.batch, "max_buffer_items": args.max_buffer,
                        "drain_timeout": args.drain_timeout})
    log.info("streaming %d phones at %g Hz to %s", len(identities), args.rate, args.url)
    runner = asyncio.create_task(fleet.run())
    commands = None
    if args.commands is not None:
        commands = CommandServer({"inject": _injector(fleet, loop)}, port=args.commands).start()
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), args.duration or None)
    finally:
        if commands is not None:
            commands.close()
        fleet.stop()
        await runner
        if truth is not None:
            truth.close()
    stats = fleet.stats()
    line = json.dumps(stats["totals"])
    print(line, flush=True)
    if args.stats is not None:
        args.stats.parent.mkdir(parents=True, exist_ok=True)
        args.stats.write_text(json.dumps(stats, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s phonesim %(levelname)s %(message)s")
    logging.getLogger("websockets").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # registration: its summary line is enough
    try:
        import uvloop
    except ImportError:
        return asyncio.run(run(args))
    return uvloop.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
