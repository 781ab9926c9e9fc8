"""Split FFmpeg's MJPEG stream (``-f image2pipe -c:v mjpeg``) into JPEG images.

The seed's splitter cut at the first ``FF D9`` after ``FF D8`` and grew its buffer forever when no
end came. This one walks the JPEG structure instead: marker segments are skipped by their length
(so an ``FF D9`` inside an APPn/COM segment or a thumbnail cannot end the image), entropy-coded
data is scanned only for real markers (``FF`` followed by neither ``00`` stuffing nor ``RSTn``),
the scan resumes where it stopped when more bytes arrive (linear, not quadratic), the frame size
comes from the SOF header, and a buffer that exceeds ``max_bytes`` without an image end is
discarded and re-synchronised on the next start-of-image.
"""

from __future__ import annotations

from dataclasses import dataclass

SOI = b"\xff\xd8"
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


@dataclass(frozen=True)
class JpegImage:
    """One complete JPEG and its pixel size."""

    data: bytes
    width: int
    height: int


class JpegSplitter:
    """Incremental splitter: ``feed(chunk)`` returns the images completed by that chunk.

    ``discarded`` counts bytes thrown away (garbage before a start-of-image, oversized images).
    """

    def __init__(self, max_bytes: int = 8_000_000) -> None:
        self.max_bytes = max_bytes
        self._buf = bytearray()
        self._pos = 0          # where parsing resumes inside the current image
        self._in_scan = False  # inside entropy-coded data
        self._size = (0, 0)
        self.discarded = 0

    def feed(self, chunk: bytes) -> list[JpegImage]:
        self._buf += chunk
        images: list[JpegImage] = []
        while True:
            image = self._next()
            if image is None:
                break
            images.append(image)
        if len(self._buf) > self.max_bytes:
            self.discarded += len(self._buf)
            self._reset(clear=True)
        return images

    def _reset(self, *, clear: bool = False, consumed: int = 0) -> None:
        if clear:
            self._buf.clear()
        elif consumed:
            del self._buf[:consumed]
        self._pos = 0
        self._in_scan = False
        self._size = (0, 0)

    def _next(self) -> JpegImage | None:
        buf = self._buf
        if self._pos == 0:
            start = buf.find(SOI)
            if start < 0:
                # Keep a trailing FF: it may be the first half of the next SOI.
                keep = 1 if buf.endswith(b"\xff") else 0
                self.discarded += len(buf) - keep
                del buf[:len(buf) - keep]
                return None
            if start:
                self.discarded += start
                del buf[:start]
            self._pos = 2
        n = len(buf)
        pos = self._pos
        while True:
            if self._in_scan:
                ff = buf.find(b"\xff", pos)
                while ff >= 0 and ff + 1 < n and (buf[ff + 1] == 0x00 or 0xD0 <= buf[ff + 1] <= 0xD7):
                    ff = buf.find(b"\xff", ff + 2)
                if ff < 0 or ff + 1 >= n:
                    self._pos = max(pos, n - 1 if ff < 0 else ff)
                    return None
                pos = ff
                self._in_scan = False
            if pos + 2 > n:
                self._pos = pos
                return None
            if buf[pos] != 0xFF:  # corrupt structure: drop this image, look for the next one
                self.discarded += pos
                self._reset(consumed=pos)
                return self._next()
            marker = buf[pos + 1]
            if marker == 0xFF:  # fill byte
                pos += 1
                continue
            if marker == 0xD9:
                end = pos + 2
                width, height = self._size
                data = bytes(buf[:end])
                self._reset(consumed=end)
                if width and height:
                    return JpegImage(data, width, height)
                self.discarded += len(data)
                return self._next()
            if marker == 0xD8:  # a new image began before this one ended
                self.discarded += pos
                self._reset(consumed=pos)
                return self._next()
            if marker in _STANDALONE:
                pos += 2
                continue
            if pos + 4 > n:
                self._pos = pos
                return None
            length = (buf[pos + 2] << 8) | buf[pos + 3]
            if pos + 2 + length > n:
                self._pos = pos
                return None
            if marker in _SOF and length >= 7:
                height = (buf[pos + 5] << 8) | buf[pos + 6]
                width = (buf[pos + 7] << 8) | buf[pos + 8]
                self._size = (width, height)
            pos += 2 + length
            if marker == 0xDA:
                self._in_scan = True
