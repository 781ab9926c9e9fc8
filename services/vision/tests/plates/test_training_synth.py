"""The training-data generator: seeded, both formats, its own typefaces (none held out)."""

from __future__ import annotations

import numpy as np

from tests.plates.heldout import HELDOUT_FONT_FAMILIES
from vigia.vision.plates.brazil import FORMATS
from vigia.vision.plates.training import synth


def test_training_typefaces_are_disjoint_from_the_held_out_ones() -> None:
    held_out = {name.lower() for name in HELDOUT_FONT_FAMILIES}
    training = {name.lower() for name in [*synth.TRAINING_FONT_FAMILIES, synth.DRAWN_FAMILY, synth.HERSHEY_FAMILY]}
    assert not training & held_out
    # Not the same files under another family name either.
    held_files = " ".join(held_out).replace(" ", "")
    for patterns in synth.TRAINING_FONT_FAMILIES.values():
        for pattern in patterns:
            stem = pattern.rsplit("/", 1)[-1].split("-")[0].split(".")[0].lower()
            assert stem not in held_files, pattern


def test_a_sample_is_the_same_for_the_same_seed_and_index() -> None:
    a, b = synth.sample(3, 17), synth.sample(3, 17)
    assert (a.key, a.format, a.family, a.degraded) == (b.key, b.format, b.family, b.degraded)
    assert np.array_equal(a.image, b.image)
    other = synth.sample(3, 18)
    assert other.key != a.key or not np.array_equal(other.image, a.image)


def test_samples_cover_both_formats_with_valid_keys_and_many_typefaces() -> None:
    samples = [synth.sample(11, i) for i in range(40)]
    assert {s.format for s in samples} == {"mercosul", "old"}
    for s in samples:
        assert len(s.key) == 7
        slots = zip(s.key, FORMATS[s.format], strict=True)
        assert all(c.isalpha() if kind == "L" else c.isdigit() for c, kind in slots)
        assert s.image.dtype == np.uint8 and s.image.shape[0] >= 8 and s.image.shape[1] >= 16
    assert len({s.family for s in samples}) >= 6
    assert any(s.degraded for s in samples) and not all(s.degraded for s in samples)


def test_the_drawn_alphabet_has_every_plate_character() -> None:
    assert set(synth.DRAWN_GLYPHS) == set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    glyph = synth._drawn_glyph("M", 60, 0.55, 0.12)
    assert 50 <= glyph.shape[0] <= 70 and glyph.max() == 255
