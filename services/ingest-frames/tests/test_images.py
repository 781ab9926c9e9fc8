"""Frame sniffing: type by magic bytes, dimensions from the header, truncation by the end marker."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from vigia.ingest_frames.images import ImageRejected, inspect_image


def _jpeg(**save: Any) -> bytes:
    out = io.BytesIO()
    Image.effect_noise((320, 200), 50).convert("RGB").save(out, "JPEG", **save)
    return out.getvalue()


@pytest.mark.parametrize("save", [{}, {"progressive": True}, {"exif": b"Exif\x00\x00" + b"\x00" * 5000},
                                  {"quality": 10, "optimize": True}])
def test_jpeg_dimensions_come_from_the_frame_header_whatever_precedes_it(save: dict[str, Any]) -> None:
    info = inspect_image(_jpeg(**save))
    assert (info.content_type, info.width, info.height) == ("image/jpeg", 320, 200)


def test_png_dimensions_come_from_ihdr() -> None:
    out = io.BytesIO()
    Image.new("L", (7, 3)).save(out, "PNG")
    assert inspect_image(out.getvalue()) == inspect_image(out.getvalue())
    assert (inspect_image(out.getvalue()).width, inspect_image(out.getvalue()).height) == (7, 3)


def test_zero_padding_after_the_jpeg_end_marker_is_tolerated() -> None:
    assert inspect_image(_jpeg() + b"\x00" * 16).width == 320


@pytest.mark.parametrize(("data", "kind"), [
    (b"", "unsupported"),
    (b"\xff\xd8", "unsupported"),
    (b"BM" + b"\x00" * 64, "unsupported"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "truncated"),
    (b"\xff\xd8\xff\xda\x00\x08" + b"\x00" * 8 + b"\xff\xd9", "invalid"),
    (b"\xff\xd8\xff\xe0\x00\x01" + b"\x00" * 8, "invalid"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "truncated"),
])
def test_malformed_or_foreign_bytes_are_rejected_with_their_kind(data: bytes, kind: str) -> None:
    with pytest.raises(ImageRejected) as caught:
        inspect_image(data)
    assert caught.value.kind == kind


def test_dimensions_beyond_the_limit_or_zero_are_invalid() -> None:
    image = _jpeg()
    assert inspect_image(image, max_dimension=320).width == 320
    with pytest.raises(ImageRejected, match=r"within 1\.\.256"):
        inspect_image(image, max_dimension=256)
    sof = image.index(b"\xff\xc0")
    zero_height = image[:sof + 5] + b"\x00\x00" + image[sof + 7:]
    with pytest.raises(ImageRejected) as caught:
        inspect_image(zero_height)
    assert caught.value.kind == "invalid"
