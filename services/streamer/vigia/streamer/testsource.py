"""A small RTSP server for tests and benchmarks, built from FFmpeg and asyncio only.

FFmpeg cannot serve RTSP to pulling clients (its ``-rtsp_flags listen`` is for *receiving* a
published stream), so this module pairs it with a minimal RTSP front end:

* a **feed** is one FFmpeg process sending RTP/H.264 over UDP to 127.0.0.1 (``-f rtp -sdp_file``),
  either encoding a synthetic ``testsrc2`` scene (size, rate, GOP configurable) or copying a
  pre-encoded file in a loop (``-re -stream_loop -1 -c copy``: no encoder cost while measuring);
* the **server** answers OPTIONS / DESCRIBE / SETUP / PLAY / GET_PARAMETER / TEARDOWN and relays
  the feed's RTP packets to each playing client interleaved on its TCP connection (RTP/AVP/TCP,
  what ``-rtsp_transport tcp`` asks for). Several paths may share one feed (many "cameras" for one
  encoder). Optional Basic authentication lets tests use URLs that carry a password.

Test hooks: :meth:`RtspTestSource.freeze` stops relaying a path while keeping its connections
open (a stalled camera), :meth:`thaw` resumes it. Not a production server: no UDP transport, no
RTCP, one video track.

Run alone: ``python -m vigia.streamer.testsource --port 8554 --paths cam0,cam1 --size 1280x720``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import shutil
import socket
import struct
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["FeedSpec", "RtspTestSource", "encode_clip", "free_port"]


def free_port(count: int = 1) -> int:
    """A free TCP/UDP port on 127.0.0.1 (the first of ``count`` consecutive free ones)."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + count >= 65535:
            continue
        socks: list[socket.socket] = []
        try:
            for offset in range(count):
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    s = socket.socket(socket.AF_INET, kind)
                    socks.append(s)
                    s.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()


@dataclass(frozen=True)
class FeedSpec:
    """What one feed sends: a synthetic scene, or ``file`` copied in a loop (H.264 inside)."""

    size: str = "640x360"
    rate: int = 25
    gop: int = 25
    file: str | None = None


def encode_clip(path: str | Path, *, seconds: int = 60, size: str = "1280x720", rate: int = 25,
                gop: int = 25, ffmpeg: str = "ffmpeg") -> Path:
    """Encode a synthetic H.264 clip once (fixed GOP, no scene-cut key frames) for copy feeds."""
    import subprocess

    out = Path(path)
    subprocess.run(
        [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", f"testsrc2=size={size}:rate={rate}", "-t", str(seconds), "-c:v", "libx264",
         "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", str(gop), "-keyint_min", str(gop),
         "-sc_threshold", "0", "-bf", "0", "-b:v", "1500k", "-maxrate", "2M", "-bufsize", "2M",
         "-movflags", "+faststart", str(out)],
        check=True)
    return out


class _Feed(asyncio.DatagramProtocol):
    """One FFmpeg RTP sender and the clients its packets go to."""

    def __init__(self, name: str, spec: FeedSpec, ffmpeg: str, workdir: Path) -> None:
        self.name = name
        self.spec = spec
        self.ffmpeg = ffmpeg
        self.sdp_path = workdir / f"{name}.sdp"
        self.sdp = ""
        self.clients: dict[str, set[_Client]] = {}
        self.frozen: set[str] = set()
        self.process: asyncio.subprocess.Process | None = None
        self._transports: list[asyncio.DatagramTransport] = []
        self.packets = 0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        port = free_port(2)
        for offset in (0, 1):  # RTP and RTCP: both bound so FFmpeg's sends never hit a closed port
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            sock.bind(("127.0.0.1", port + offset))
            transport, _ = await loop.create_datagram_endpoint(
                (lambda: self) if offset == 0 else asyncio.DatagramProtocol, sock=sock)
            self._transports.append(transport)
        spec = self.spec
        if spec.file:
            source = ["-re", "-stream_loop", "-1", "-i", spec.file, "-an", "-c:v", "copy"]
        else:
            source = ["-re", "-f", "lavfi", "-i", f"testsrc2=size={spec.size}:rate={spec.rate}",
                      "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
                      "-pix_fmt", "yuv420p", "-g", str(spec.gop), "-keyint_min", str(spec.gop),
                      "-sc_threshold", "0", "-threads", "1"]
        self.process = await asyncio.create_subprocess_exec(
            self.ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", *source,
            "-f", "rtp", "-payload_type", "96", "-sdp_file", str(self.sdp_path),
            f"rtp://127.0.0.1:{port}?pkt_size=1300&rtcpport={port + 1}",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL)
        for _ in range(200):
            if self.sdp_path.exists() and "a=rtpmap" in self.sdp_path.read_text():
                break
            if self.process.returncode is not None:
                raise RuntimeError(f"feed {self.name}: ffmpeg exited {self.process.returncode}")
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError(f"feed {self.name}: ffmpeg wrote no SDP")
        self.sdp = self.sdp_path.read_text()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.packets += 1
        frame = b"$\x00" + struct.pack(">H", len(data)) + data
        for path, clients in self.clients.items():
            if path in self.frozen:
                continue
            for client in list(clients):
                client.send(frame)

    def describe(self, url: str) -> str:
        """The SDP for clients: FFmpeg's media lines with RTSP control attributes."""
        keep = [line for line in self.sdp.splitlines()
                if line[:2] in ("a=",) and line.startswith(("a=rtpmap", "a=fmtp"))]
        return "\r\n".join([
            "v=0", "o=- 0 0 IN IP4 127.0.0.1", "s=vigia test source", "c=IN IP4 0.0.0.0",
            "t=0 0", "a=control:*", "m=video 0 RTP/AVP 96", *keep, "a=control:track0", "",
        ])

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        for transport in self._transports:
            transport.close()
        for clients in self.clients.values():
            for client in list(clients):
                client.close()


class _Client:
    """One RTSP connection."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.session = uuid.uuid4().hex[:16]
        self.playing: tuple[_Feed, str] | None = None

    def send(self, frame: bytes) -> None:
        transport = self.writer.transport
        if transport.is_closing():
            return
        # A client that stops reading is dropped rather than buffered without bound.
        if transport.get_write_buffer_size() > 8 << 20:
            self.close()
            return
        transport.write(frame)

    def close(self) -> None:
        if self.playing is not None:
            feed, path = self.playing
            feed.clients.get(path, set()).discard(self)
            self.playing = None
        self.writer.transport.close()


@dataclass
class RtspTestSource:
    """An RTSP server on 127.0.0.1:``port`` serving ``paths`` (path -> feed name) from ``feeds``.

    ``credentials`` ("user", "password") makes every request need Basic authentication.
    Use ``async with RtspTestSource(...) as source`` and ``source.url("cam0")``.
    """

    feeds: dict[str, FeedSpec]
    paths: dict[str, str]
    port: int = 0
    credentials: tuple[str, str] | None = None
    ffmpeg: str = "ffmpeg"
    _feeds: dict[str, _Feed] = field(default_factory=dict, init=False)
    _server: asyncio.base_events.Server | None = field(default=None, init=False)
    _workdir: str | None = field(default=None, init=False)

    def url(self, path: str, *, with_credentials: bool = True) -> str:
        auth = ""
        if self.credentials and with_credentials:
            auth = f"{self.credentials[0]}:{self.credentials[1]}@"
        return f"rtsp://{auth}127.0.0.1:{self.port}/{path}"

    async def start(self) -> RtspTestSource:
        self._workdir = tempfile.mkdtemp(prefix="vigia-rtsp-")
        for name, spec in self.feeds.items():
            feed = _Feed(name, spec, self.ffmpeg, Path(self._workdir))
            await feed.start()
            self._feeds[name] = feed
        self.port = self.port or free_port()
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for feed in self._feeds.values():
            await feed.stop()
        self._feeds.clear()
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)

    async def __aenter__(self) -> RtspTestSource:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def freeze(self, path: str) -> None:
        """Stop sending ``path``'s packets; its connections stay open (a stalled camera)."""
        self._feed_of(path).frozen.add(path)

    def thaw(self, path: str) -> None:
        self._feed_of(path).frozen.discard(path)

    def _feed_of(self, path: str) -> _Feed:
        return self._feeds[self.paths[path]]

    def playing(self, path: str) -> int:
        """How many clients are playing ``path``."""
        return len(self._feed_of(path).clients.get(path, ()))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = _Client(writer)
        try:
            while True:
                first = await reader.readexactly(1)
                if first == b"$":  # interleaved data from the client (RTCP receiver reports)
                    header = await reader.readexactly(3)
                    await reader.readexactly(struct.unpack(">H", header[1:])[0])
                    continue
                head = first + await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, url, _ = ([*lines[0].split(" "), "", ""])[:3]
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        key, _, value = line.partition(":")
                        headers[key.strip().lower()] = value.strip()
                if int(headers.get("content-length", "0") or 0):
                    await reader.readexactly(int(headers["content-length"]))
                if not self._respond(client, method, url, headers):
                    break
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            client.close()

    def _respond(self, client: _Client, method: str, url: str, headers: dict[str, str]) -> bool:
        cseq = headers.get("cseq", "0")

        def reply(status: str, extra: dict[str, str] | None = None, body: str = "") -> None:
            out = [f"RTSP/1.0 {status}", f"CSeq: {cseq}", "Server: vigia-testsource"]
            out += [f"{k}: {v}" for k, v in (extra or {}).items()]
            if body:
                out += ["Content-Type: application/sdp", f"Content-Length: {len(body.encode())}"]
            client.writer.write(("\r\n".join(out) + "\r\n\r\n" + body).encode())

        if method == "OPTIONS":
            reply("200 OK", {"Public": "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER"})
            return True
        if self.credentials and not self._authorized(headers.get("authorization", "")):
            reply("401 Unauthorized", {"WWW-Authenticate": 'Basic realm="vigia"'})
            return True
        path = url.split("://", 1)[-1].split("/", 1)[-1].split("?")[0].strip("/")
        base = path.split("/")[0]
        if base not in self.paths or self.paths[base] not in self._feeds:
            reply("404 Not Found")
            return True
        feed = self._feed_of(base)
        session = {"Session": f"{client.session};timeout=60"}
        if method == "DESCRIBE":
            reply("200 OK", {"Content-Base": f"{url.rstrip('/')}/"}, feed.describe(url))
        elif method == "SETUP":
            transport = headers.get("transport", "")
            if "TCP" not in transport.upper():
                reply("461 Unsupported Transport")
            else:
                reply("200 OK", {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1", **session})
        elif method == "PLAY":
            reply("200 OK", {**session, "Range": "npt=0.000-"})
            client.playing = (feed, base)
            feed.clients.setdefault(base, set()).add(client)
        elif method in ("GET_PARAMETER", "SET_PARAMETER", "PAUSE"):
            reply("200 OK", session)
        elif method == "TEARDOWN":
            reply("200 OK", session)
            return False
        else:
            reply("405 Method Not Allowed")
        return True

    def _authorized(self, header: str) -> bool:
        assert self.credentials is not None
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        with contextlib.suppress(ValueError):
            return base64.b64decode(value).decode() == ":".join(self.credentials)
        return False


async def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8554)
    parser.add_argument("--paths", default="live", help="comma-separated paths sharing one feed")
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--rate", type=int, default=25)
    parser.add_argument("--gop", type=int, default=25)
    parser.add_argument("--file", default=None, help="pre-encoded H.264 file to loop instead")
    args = parser.parse_args()
    spec = FeedSpec(size=args.size, rate=args.rate, gop=args.gop, file=args.file)
    paths = {p: "feed" for p in args.paths.split(",") if p}
    async with RtspTestSource({"feed": spec}, paths, port=args.port) as source:
        print(" ".join(source.url(p) for p in paths), flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main())
    os._exit(0)
