"""The MJPEG splitter on real FFmpeg output and on the corner cases the seed's splitter got wrong."""

from __future__ import annotations

import subprocess

import pytest

from vigia.streamer.jpeg import JpegSplitter


@pytest.fixture(scope="module")
def mjpeg_stream() -> bytes:
    """Five 320x240 JPEGs as FFmpeg's image2pipe writes them."""
    return subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=5",
         "-frames:v", "5", "-c:v", "mjpeg", "-q:v", "5", "-f", "image2pipe", "pipe:1"],
        check=True, capture_output=True).stdout


def _split(data: bytes, chunk: int, max_bytes: int = 8_000_000) -> tuple[list, JpegSplitter]:
    splitter = JpegSplitter(max_bytes)
    images = []
    for i in range(0, len(data), chunk):
        images += splitter.feed(data[i:i + chunk])
    return images, splitter


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
def test_ffmpeg_mjpeg_output_splits_into_its_frames_whatever_the_read_size(mjpeg_stream: bytes, chunk: int) -> None:
    images, splitter = _split(mjpeg_stream, chunk)
    assert len(images) == 5
    assert b"".join(i.data for i in images) == mjpeg_stream
    assert {(i.width, i.height) for i in images} == {(320, 240)}
    assert splitter.discarded == 0


def test_an_end_marker_inside_a_comment_segment_does_not_end_the_image(mjpeg_stream: bytes) -> None:
    first = _split(mjpeg_stream, 1 << 20)[0][0].data
    comment = b"\xff\xfe" + (2 + 6).to_bytes(2, "big") + b"a\xff\xd9bcd"  # COM segment holding FF D9
    tricky = first[:2] + comment + first[2:]
    images, _ = _split(tricky + first, 1000)
    assert [i.data for i in images] == [tricky, first]


def test_garbage_between_images_is_skipped(mjpeg_stream: bytes) -> None:
    images, splitter = _split(b"noise\xff\x00" + mjpeg_stream, 333)
    assert len(images) == 5
    assert splitter.discarded == 7


def test_an_image_larger_than_the_limit_is_dropped_and_the_stream_resynchronises(mjpeg_stream: bytes) -> None:
    first = _split(mjpeg_stream, 1 << 20)[0][0].data
    unterminated = first[:-2] + b"\x00" * 50_000  # never ends
    images, splitter = _split(unterminated + mjpeg_stream, 4096, max_bytes=40_000)
    assert len(images) >= 4  # the stream recovers on a later start-of-image
    assert splitter.discarded > 40_000
    assert len(splitter._buf) <= 40_000 + 4096
