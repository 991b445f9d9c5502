import base64
import os

import pytest
from django.core.exceptions import ImproperlyConfigured

from records.crypto import DecryptionError, decrypt_my_number, encrypt_my_number, is_encrypted_with_current_key


def key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def test_round_trip_and_randomised(settings):
    settings.MY_NUMBER_KEYS = [key()]
    a, b = encrypt_my_number("123456789018"), encrypt_my_number("123456789018")
    assert a != b  # a fresh nonce every time: equal numbers do not produce equal ciphertexts
    assert decrypt_my_number(a) == decrypt_my_number(b) == "123456789018"


def test_rotation_first_key_encrypts_all_decrypt(settings):
    old, new = key(), key()
    settings.MY_NUMBER_KEYS = [old]
    token = encrypt_my_number("123456789018")
    settings.MY_NUMBER_KEYS = [new, old]
    assert decrypt_my_number(token) == "123456789018"
    assert not is_encrypted_with_current_key(token)
    assert is_encrypted_with_current_key(encrypt_my_number("123456789018"))
    settings.MY_NUMBER_KEYS = [new]
    with pytest.raises(DecryptionError):
        decrypt_my_number(token)


def test_tampered_ciphertext_does_not_decrypt(settings):
    settings.MY_NUMBER_KEYS = [key()]
    raw = bytearray(base64.urlsafe_b64decode(encrypt_my_number("123456789018")))
    raw[-1] ^= 1
    with pytest.raises(DecryptionError):
        decrypt_my_number(base64.urlsafe_b64encode(bytes(raw)).decode())


@pytest.mark.parametrize("bad", [[], ["not base64!!"], [base64.urlsafe_b64encode(b"short").decode()]])
def test_misconfigured_keys_fail_closed(settings, bad):
    settings.MY_NUMBER_KEYS = bad
    with pytest.raises(ImproperlyConfigured):
        encrypt_my_number("123456789018")
