"""RTSP URL validation and masking."""

from __future__ import annotations

import pytest

from vigia.control.cameras import rtsp


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("rtsp://u:p@host:554/path", "rtsp://***:***@host:554/path"),
        ("rtsp://host/path", "rtsp://host/path"),
        ("rtsps://user@host/live?auth=xyz", "rtsps://***@host/live?***"),
        ("rtsp://u:p@[::1]:8554/a", "rtsp://***:***@[::1]:8554/a"),
    ],
)
def test_mask_hides_credentials_and_query(url: str, masked: str) -> None:
    assert rtsp.mask(url) == masked


@pytest.mark.parametrize("url", ["rtsp://cam/1", "rtsps://u:p@cam.example.com:322/x", "RTSP://cam"])
def test_valid_rtsp_urls_parse(url: str) -> None:
    assert rtsp.parse(url).hostname


@pytest.mark.parametrize(
    "url",
    ["", "http://cam", "rtsp://", "rtsp://:554/x", "rtsp://c:0/x", "rtsp://c/\nx", "rtsp://" + "a" * 3000],
)
def test_invalid_rtsp_urls_are_refused_without_echoing_them(url: str) -> None:
    with pytest.raises(rtsp.InvalidRtspUrl) as excinfo:
        rtsp.parse(url)
    assert url not in str(excinfo.value) or not url


def test_scrub_removes_every_secret_piece() -> None:
    url = "rtsp://alice:wonderland@cam/x?key=abcdef"
    text = f"Connection to {url} failed for alice with wonderland and key=abcdef"
    cleaned = rtsp.scrub(text, url)
    assert "wonderland" not in cleaned and "alice" not in cleaned and "abcdef" not in cleaned
