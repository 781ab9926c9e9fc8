"""The trained plate recogniser (``crnn`` backend): the shipped weights read plates, the backend
sits in the registry and gives what the slot-constrained decoder takes, bad weights are refused."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
import torch

from vigia.vision.plates.backends import read_plates, registered
from vigia.vision.plates.backends.crnn import DEFAULT_WEIGHTS, CrnnBackend
from vigia.vision.plates.brazil import plate_key
from vigia.vision.plates.ctc import CLASSES
from vigia.vision.plates.enhance import plate_text
from vigia.vision.plates.training import model, synth


@pytest.fixture(scope="module")
def crnn() -> CrnnBackend:
    return CrnnBackend()


def test_crnn_is_registered() -> None:
    assert registered()["crnn"] is CrnnBackend


def test_probabilities_are_folded_steps_over_blank_letters_and_digits(crnn: CrnnBackend) -> None:
    probs = crnn.probabilities([np.full((40, 130, 3), 200, np.uint8), np.zeros((20, 90), np.uint8)])
    assert len(probs) == 2
    for p in probs:
        assert p.shape == (model.INPUT_WIDTH // 4, len(CLASSES))
        assert np.allclose(p.sum(axis=1), 1.0)
    assert crnn.probabilities([]) == []


def test_each_crop_is_read_as_itself_and_four_views_of_its_edges(crnn: CrnnBackend) -> None:
    crop = np.random.default_rng(0).integers(0, 255, (30, 100, 3), dtype=np.uint8)
    views = crnn.views(crop)
    assert len(views) == 5 and all(v.ndim == 2 for v in views)
    assert np.array_equal(views[0], cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY))  # the crop as it is first
    assert [v.shape for v in views] == [(30, 100), (30, 96), (30, 96), (30, 100), (30, 100)]
    assert np.array_equal(views[1], views[0][:, 4:]) and np.array_equal(views[2], views[0][:, :96])


def test_shipped_weights_read_training_generator_crops(crnn: CrnnBackend) -> None:
    # Seed 101 is not the training seed: these exact images were never trained on. Clean crops of
    # plates at least 100 px wide; the shipped weights read 74 % of all clean validation crops
    # (plates down to 55 px), and these 10 of 12.
    samples = [s for s in (synth.sample(101, i) for i in range(80)) if not s.degraded and s.image.shape[1] >= 100]
    samples = samples[:12]
    reads = read_plates(crnn, [s.image for s in samples])
    right = sum(r is not None and r.key == s.key for r, s in zip(reads, samples, strict=True))
    assert right >= 10, [(r.key if r else None, s.key) for r, s in zip(reads, samples, strict=True)]


@pytest.mark.parametrize("text", ["BRA2E19", "QRM-7421"])
def test_shipped_weights_read_a_camsim_plate_as_the_pipeline_crops_it(crnn: CrnnBackend, text: str) -> None:
    from vigia.simulators.camsim.plates import render_plate

    plate = render_plate(text)
    crop = cv2.resize(plate, (190, round(190 * plate.shape[0] / plate.shape[1])), interpolation=cv2.INTER_AREA)
    (reading,) = crnn.read_plates([plate_text(crop)])
    assert reading is not None and reading.key == plate_key(text)


def test_a_missing_weights_file_is_refused_naming_it(tmp_path) -> None:
    missing = tmp_path / "nowhere" / "crnn.pt"
    with pytest.raises(model.WeightsError, match=r"not found.*nowhere"):
        CrnnBackend(str(missing))


def test_a_corrupt_weights_file_is_refused(tmp_path) -> None:
    broken = tmp_path / "crnn.pt"
    with open(DEFAULT_WEIGHTS, "rb") as shipped:
        broken.write_bytes(shipped.read()[:5000])  # a truncated copy
    with pytest.raises(model.WeightsError, match="unreadable"):
        CrnnBackend(str(broken))
    foreign = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(model.WeightsError, match="not a vigia-crnn"):
        CrnnBackend(str(foreign))


def test_weights_that_do_not_fit_the_network_are_refused(tmp_path) -> None:
    net = model.PlateCRNN()
    path = tmp_path / "crnn.pt"
    model.save(str(path), net)
    blob = torch.load(path, weights_only=True)
    blob["config"]["hidden"] = 32  # the stored tensors no longer fit the stated size
    torch.save(blob, path)
    with pytest.raises(model.WeightsError, match="do not fit"):
        CrnnBackend(str(path))


def test_save_and_load_round_trip_reads_the_same(tmp_path) -> None:
    torch.manual_seed(0)
    net = model.PlateCRNN().eval()
    path = tmp_path / "crnn.pt"
    model.save(str(path), net, {"seed": 1})
    again = model.load(str(path))
    crop = np.random.default_rng(0).integers(0, 255, (30, 100), dtype=np.uint8)
    a, b = model.probabilities(net, [crop])[0], model.probabilities(again, [crop])[0]
    assert np.allclose(a, b, atol=2e-2)  # the file keeps float16 weights


def test_make_train_plates_defaults_are_the_shipped_weights_run() -> None:
    # So that `make train-plates` reproduces the shipped weights (within their figures' intervals).
    import json
    import os

    from vigia.vision.plates.training import train

    with open(os.path.splitext(DEFAULT_WEIGHTS)[0] + ".json") as f:
        shipped = json.load(f)
    defaults = train.arguments().parse_args([])
    assert {k: shipped[k] for k in ("seed", "samples", "val", "epochs", "batch", "lr")} == {
        k: getattr(defaults, k) for k in ("seed", "samples", "val", "epochs", "batch", "lr")}
    assert shipped["data"] == dataclasses.asdict(synth.SynthConfig())
