"""MultiFernet helper: round trip, key rotation, tamper detection."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from vigia.control.core import crypto

SECRET = "rtsp://admin:s3cret@10.0.0.7:554/stream1"


def test_round_trip_does_not_store_the_plaintext():
    token = crypto.encrypt(SECRET)
    assert SECRET not in token and "s3cret" not in token
    assert crypto.decrypt(token) == SECRET


def test_same_plaintext_encrypts_differently_each_time():
    assert crypto.encrypt(SECRET) != crypto.encrypt(SECRET)


def test_rotation_moves_tokens_to_the_new_key(settings):
    old_key = Fernet.generate_key().decode()
    new_key = Fernet.generate_key().decode()
    settings.VIGIA_FERNET_KEYS = old_key
    token = crypto.encrypt(SECRET)
    settings.VIGIA_FERNET_KEYS = f"{new_key},{old_key}"
    assert crypto.decrypt(token) == SECRET  # old tokens still open during the rotation
    rotated = crypto.rotate(token)
    settings.VIGIA_FERNET_KEYS = new_key
    assert crypto.decrypt(rotated) == SECRET
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(token)


def test_tampered_token_is_refused():
    token = crypto.encrypt(SECRET)
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(tampered)


def test_empty_key_list_is_an_error(settings):
    settings.VIGIA_FERNET_KEYS = " , "
    with pytest.raises(ValueError, match="no key"):
        crypto.encrypt(SECRET)
