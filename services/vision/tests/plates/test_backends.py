"""OCR backends behind a registry: the setting names one, the pipeline decodes what any gives."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from vigia.vision.plates import backends
from vigia.vision.plates.backends import base, build_backend, read_plates, registered
from vigia.vision.plates.backends.easyocr import EasyOCRBackend
from vigia.vision.plates.ctc import CLASSES
from vigia.vision.plates.finder import text_band
from vigia.vision.settings import VisionSettings


def test_crnn_is_the_default_and_easyocr_registered() -> None:
    from vigia.vision.plates.backends.crnn import CrnnBackend

    assert registered()["easyocr"] is EasyOCRBackend
    assert registered()["crnn"] is CrnnBackend
    assert VisionSettings().plate_ocr_backend == "crnn"


def test_an_unknown_backend_setting_is_refused_naming_the_registered_ones(monkeypatch) -> None:
    monkeypatch.setenv("VIGIA_PLATE_OCR_BACKEND", "tesseract")
    with pytest.raises(ValidationError) as refused:
        VisionSettings()
    assert "tesseract" in str(refused.value) and "easyocr" in str(refused.value)
    with pytest.raises(ValueError, match=r"registered: .*easyocr"):
        build_backend("tesseract", VisionSettings.model_construct())


def test_a_backend_needs_a_name_and_registers_once(monkeypatch) -> None:
    monkeypatch.setattr(base, "_BACKENDS", {})

    class Nameless:
        pass

    with pytest.raises(TypeError, match="name"):
        backends.register(Nameless)

    class Fixed:
        name = "fixed"

    class Other:
        name = "fixed"

    backends.register(Fixed)
    backends.register(Fixed)  # the same class again (a module imported twice) is fine
    with pytest.raises(ValueError, match="twice"):
        backends.register(Other)
    assert registered() == {"fixed": Fixed}


class _Spelled:
    """A backend that "sees" a fixed text: one step per character with a blank between."""

    name = "spelled"

    def __init__(self, text: str) -> None:
        self.text = text

    def probabilities(self, crops):
        steps = []
        for char in self.text:
            for cls in (CLASSES.index(char), 0):
                row = np.full(len(CLASSES), 0.01)
                row[cls] = 1.0
                steps.append(row / row.sum())
        return [np.array(steps) for _ in crops]


def test_read_plates_decodes_any_backends_probabilities_under_the_format_priors() -> None:
    crops = [np.zeros((20, 60), np.uint8)] * 2
    reads = read_plates(_Spelled("ABC1D23"), crops, [{"mercosul": 0.9, "old": 0.1}, None])
    assert [r.text if r else None for r in reads] == ["ABC1D23", "ABC1D23"]
    (old,) = read_plates(_Spelled("ABC1234"), crops[:1])
    assert old is not None and old.text == "ABC-1234" and old.format == "old"


class _Viewed(_Spelled):
    """Reads each crop as three views; what it sees in a view is the text given for that view
    (the first view is the crop itself, so it sees the crop's text)."""

    def __init__(self, texts: list[str]) -> None:
        super().__init__(texts[0])
        self.texts = texts
        self.calls: list[int] = []

    def views(self, crop: np.ndarray) -> list[np.ndarray]:
        return [crop, crop[:, 1:], crop[:, :-1]]

    def probabilities(self, crops):
        self.calls.append(len(crops))
        return [_Spelled(self.texts[i % len(self.texts)]).probabilities([crop])[0] for i, crop in enumerate(crops)]


def test_a_backends_views_of_a_crop_are_read_in_one_call_and_agree_on_one_plate() -> None:
    backend = _Viewed(["ABC1D28", "ABC1D23", "ABC1D23"])  # the crop as it is misread, two views right
    reads = read_plates(backend, [np.zeros((20, 60), np.uint8)] * 2)
    assert backend.calls == [6]  # both crops' three views in one batch
    assert [r.text if r else None for r in reads] == ["ABC1D23", "ABC1D23"]
    backend.min_confidence = 0.999  # the floor applies to the reading the views agree on
    assert read_plates(backend, [np.zeros((20, 60), np.uint8)]) == [None]


def test_easyocr_built_from_settings_gives_folded_probabilities_and_reads_a_plate(render_plate) -> None:
    backend = build_backend("easyocr", VisionSettings())
    crops = [text_band(render_plate("BRA2E19")), text_band(render_plate("QRM-7421", width=300))]
    probs = backend.probabilities(crops)
    assert [p.shape[1] for p in probs] == [len(CLASSES)] * 2
    assert all(np.allclose(p.sum(axis=1), 1.0) for p in probs)
    assert [r.text if r else None for r in read_plates(backend, crops)] == ["BRA2E19", "QRM-7421"]


class _Unsure(_Spelled):
    """Sees the same text, but every character only a little above the rest (a non-plate's read)."""

    def probabilities(self, crops):
        steps = []
        for char in self.text:
            for cls in (CLASSES.index(char), 0):
                row = np.full(len(CLASSES), 1.0)
                row[cls] = 12.0  # about 0.25 of the step's probability
                steps.append(row / row.sum())
        return [np.array(steps) for _ in crops]


def test_each_backend_drops_readings_below_its_own_confidence_floor() -> None:
    crops = [np.zeros((20, 60), np.uint8)]
    unsure = _Unsure("ABC1D23")
    (loose,) = read_plates(unsure, crops)  # no floor of its own: the decoder's default
    assert loose is not None and loose.text == "ABC1D23" and 0.1 < loose.confidence < 0.4
    unsure.min_confidence = 0.4
    assert read_plates(unsure, crops) == [None]
    sure = _Spelled("ABC1D23")
    sure.min_confidence = 0.4
    assert [r.text if r else None for r in read_plates(sure, crops)] == ["ABC1D23"]
    assert registered()["crnn"].min_confidence > registered()["easyocr"].min_confidence
