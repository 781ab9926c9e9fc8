"""The look-alike keys a tolerant passage search sends are one quoted array literal."""

from __future__ import annotations

import pytest

from vigia.common.plates import edit_neighbours, look_alike_key
from vigia.control.observations.passages import _text_array


def test_every_key_is_quoted_so_none_reads_as_null():
    assert sorted(_text_array(frozenset({"NULL", "ABC123"}))[2:-2].split('","')) == ["ABC123", "NULL"]
    literal = _text_array(edit_neighbours(look_alike_key("ABC1D23")))
    assert literal.startswith('{"') and literal.endswith('"}')
    assert set(literal[2:-2].split('","')) == edit_neighbours(look_alike_key("ABC1D23"))


@pytest.mark.parametrize("bad", ['AB"C', "AB,C", "AB C", "ÀBC", "AB\\C", ""])
def test_anything_but_letters_and_digits_is_refused(bad):
    with pytest.raises(ValueError):
        _text_array(frozenset({"ABC123", bad}))
