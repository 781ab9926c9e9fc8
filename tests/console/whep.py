"""MediaMTX's WebRTC reader as the console meets it, on loopback: WHEP (RFC 9725) answered by
aiortc. ``POST`` an SDP offer, get ``201`` with the answer and the session's ``Location``;
``DELETE`` that location to hang up. The picture is a moving test pattern, VP8 or H.264 as the
browser offers. MediaMTX cannot run here; this plays its part for the browser test.

Loopback only: aioice leaves 127.0.0.1 out of the host candidates it gathers, so the stand-in
gathers that address alone, and it drops every candidate of the browser's offer that is not
127.0.0.1 (Chromium offers its interfaces' addresses too, with
``--allow-loopback-in-peer-connection`` also the loopback one). No packet goes to another address.
"""

from __future__ import annotations

import asyncio
import fractions
import threading
import time
import uuid
from collections.abc import Coroutine
from typing import Any

import aioice.ice
import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription, VideoStreamTrack
from av import VideoFrame

LOOPBACK = "127.0.0.1"
WIDTH, HEIGHT, FPS = 320, 180, 10


def _loopback_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return [LOOPBACK] if use_ipv4 else []


aioice.ice.get_host_addresses = _loopback_addresses


def loopback_only(sdp: str) -> str:
    """``sdp`` without the candidates of any address but 127.0.0.1 (mDNS names included)."""
    kept = []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            fields = line.split()
            if len(fields) < 5 or fields[4] != LOOPBACK:
                continue
        kept.append(line)
    return "\r\n".join(kept) + "\r\n"


class PatternTrack(VideoStreamTrack):
    """A 320x180 picture at 10 frames/s whose bright bar moves a step every frame."""

    def __init__(self) -> None:
        super().__init__()
        self.frames = 0

    async def recv(self) -> VideoFrame:
        await asyncio.sleep(max(0.0, getattr(self, "_due", 0.0) - time.monotonic()))
        self._due = time.monotonic() + 1 / FPS
        picture = np.full((HEIGHT, WIDTH, 3), 40, np.uint8)
        x = (self.frames * 8) % WIDTH
        picture[:, x:x + 24] = (0, 200, 255)
        picture[HEIGHT // 2 - 10:HEIGHT // 2 + 10, :] = (255, 255, 255)
        frame = VideoFrame.from_ndarray(picture, format="bgr24")
        frame.pts = self.frames * (90_000 // FPS)
        frame.time_base = fractions.Fraction(1, 90_000)
        self.frames += 1
        return frame


class WhepServer:
    """Answers WHEP offers from a thread of its own (an asyncio loop), for a synchronous HTTP
    handler: ``answer`` returns the SDP answer and the new session's id, ``hang_up`` ends it."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="whep", daemon=True)
        self._thread.start()
        self.sessions: dict[str, RTCPeerConnection] = {}
        self.answered = 0
        self.hung_up = 0

    def _run(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 20) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _answer(self, offer: str) -> tuple[str, str]:
        peer = RTCPeerConnection()
        peer.addTrack(PatternTrack())
        await peer.setRemoteDescription(RTCSessionDescription(loopback_only(offer), "offer"))
        await peer.setLocalDescription(await peer.createAnswer())  # gathers every candidate first
        session = uuid.uuid4().hex
        self.sessions[session] = peer
        self.answered += 1
        return peer.localDescription.sdp, session

    def answer(self, offer: str) -> tuple[str, str]:
        return self._run(self._answer(offer))  # type: ignore[no-any-return]

    async def _hang_up(self, session: str) -> bool:
        peer = self.sessions.pop(session, None)
        if peer is None:
            return False
        await peer.close()
        self.hung_up += 1
        return True

    def hang_up(self, session: str) -> bool:
        return self._run(self._hang_up(session))  # type: ignore[no-any-return]

    def close(self) -> None:
        for session in list(self.sessions):
            self.hang_up(session)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
