"""What a pushed frame is, read from its bytes alone: type by magic number, size from the header.

Nothing here decodes pixels. JPEG dimensions come from the first start-of-frame (SOFn) segment,
reached by hopping over the segments before it by their lengths; PNG dimensions from the IHDR
chunk that must follow the signature. A JPEG must end with its EOI marker (FFD9) and a PNG with
its IEND chunk, which catches the commonest damage, a frame cut short in transit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ContentType = Literal["image/jpeg", "image/png"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
JPEG_SOI = b"\xff\xd8\xff"
JPEG_EOI = b"\xff\xd9"
# SOF0..SOF15 carry the dimensions; C4 (DHT), C8 (JPG extension) and CC (DAC) share the range.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length field: TEM and RST0..RST7 (SOI is handled before the loop).
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


class ImageRejected(ValueError):
    """The bytes are not an acceptable frame. ``kind`` is ``unsupported`` (not a JPEG or a PNG),
    ``truncated`` (cut short) or ``invalid`` (malformed header or insane dimensions)."""

    def __init__(self, kind: Literal["unsupported", "truncated", "invalid"], message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """The facts a frame's header states."""

    content_type: ContentType
    width: int
    height: int


def inspect_image(data: bytes, max_dimension: int = 8192) -> ImageInfo:
    """Type and dimensions of ``data``; raises :class:`ImageRejected` unless it is a complete JPEG
    or PNG whose width and height are both within 1..``max_dimension``."""
    if data.startswith(JPEG_SOI):
        width, height = _jpeg_size(data)
        # Some encoders pad after EOI with zero bytes; anything else after the image means a cut.
        if not data.rstrip(b"\x00").endswith(JPEG_EOI):
            raise ImageRejected("truncated", "JPEG is truncated: it does not end with the EOI marker")
        info = ImageInfo("image/jpeg", width, height)
    elif data.startswith(PNG_SIGNATURE):
        width, height = _png_size(data)
        if not data.endswith(PNG_IEND):
            raise ImageRejected("truncated", "PNG is truncated: it does not end with the IEND chunk")
        info = ImageInfo("image/png", width, height)
    else:
        raise ImageRejected("unsupported", "not a JPEG or PNG image (checked by its leading bytes)")
    if not (1 <= info.width <= max_dimension and 1 <= info.height <= max_dimension):
        raise ImageRejected("invalid", f"image is {info.width}x{info.height}; width and height must be "
                            f"within 1..{max_dimension}")
    return info


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the first SOFn segment."""
    size = len(data)
    i = 2
    while i + 1 < size:
        if data[i] != 0xFF:
            raise ImageRejected("invalid", f"JPEG header is corrupt: no marker at byte {i}")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte before a marker
            i += 1
            continue
        if marker in _JPEG_STANDALONE:
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # EOI or start of scan before any frame header
            raise ImageRejected("invalid", "JPEG has no frame header (SOF) before its image data")
        if i + 4 > size:
            break
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if length < 2:
            raise ImageRejected("invalid", f"JPEG segment at byte {i} has an impossible length")
        if marker in _JPEG_SOF:
            if i + 9 > size:
                break
            height = int.from_bytes(data[i + 5:i + 7], "big")
            width = int.from_bytes(data[i + 7:i + 9], "big")
            return width, height
        i += 2 + length
    raise ImageRejected("truncated", "JPEG is truncated: its header ends before the frame header")


def _png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the IHDR chunk, which the PNG format puts first."""
    if len(data) < 33:
        raise ImageRejected("truncated", "PNG is truncated: it ends inside its header")
    if data[8:16] != b"\x00\x00\x00\x0dIHDR":
        raise ImageRejected("invalid", "PNG is malformed: IHDR is not its first chunk")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
