"""Shared fixtures of the vision tests: sample images that ship with the installed packages."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

os.environ.setdefault("YOLO_OFFLINE", "1")


@pytest.fixture(scope="session")
def bus_image() -> np.ndarray:
    import ultralytics

    image = cv2.imread(os.path.join(os.path.dirname(ultralytics.__file__), "assets", "bus.jpg"))
    assert image is not None
    return image


def render_plate_crop(text: str, width: int = 360) -> np.ndarray:
    """A clean plate image: dark text on a light plate, as a camera crop would show it."""
    h = round(width / 3.2)
    img = np.full((h, width, 3), 235, np.uint8)
    cv2.rectangle(img, (2, 2), (width - 3, h - 3), (20, 20, 20), 3)
    font = cv2.FONT_HERSHEY_DUPLEX
    (tw, th), _ = cv2.getTextSize(text, font, 1.0, 2)
    scale = min((width * 0.85) / tw, (h * 0.6) / th)
    (tw, th), _ = cv2.getTextSize(text, font, scale, max(2, round(scale * 2)))
    cv2.putText(img, text, ((width - tw) // 2, (h + th) // 2), font, scale, (20, 20, 20),
                max(2, round(scale * 2)), cv2.LINE_AA)
    return img


@pytest.fixture(scope="session")
def render_plate():
    """Renders a plate crop: ``render_plate("ABC1D23", width=360)``."""
    return render_plate_crop


@pytest.fixture(scope="session")
def plate_ocr():
    from vigia.vision.plates.ocr import PlateOCR

    return PlateOCR()
