"""Encryption at rest and the blind index for My Number.

Ciphertext layout (then urlsafe-base64): ``version(1) | key id(4) | nonce(12) | AES-256-GCM(ct+tag)``.
The key id is the first 4 bytes of SHA-256 of the key, so a key list can be rotated: the first key in
``MY_NUMBER_KEYS`` encrypts, any listed key decrypts, and ``records.services.my_number_rekey`` moves
old ciphertexts to the first key. The blind index is HMAC-SHA256 under a separate key, so equality
lookups work without decrypting and without a reversible value in the database.
"""

import base64
import binascii
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_VERSION = b"\x01"
_AAD = b"koshigaya-vax:my_number"


class DecryptionError(Exception):
    pass


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:4]


@lru_cache(maxsize=8)
def _keys(raw_keys: tuple[str, ...]) -> tuple[tuple[bytes, AESGCM], ...]:
    if not raw_keys:
        raise ImproperlyConfigured("MY_NUMBER_KEYS must list at least one key.")
    keys = []
    for raw in raw_keys:
        try:
            key = base64.urlsafe_b64decode(raw)
        except (binascii.Error, ValueError):
            raise ImproperlyConfigured("MY_NUMBER_KEYS holds a value that is not base64.") from None
        if len(key) != 32:
            raise ImproperlyConfigured("Each MY_NUMBER_KEYS key must be 32 bytes (AES-256).")
        keys.append((_key_id(key), AESGCM(key)))
    return tuple(keys)


def _configured_keys() -> tuple[tuple[bytes, AESGCM], ...]:
    return _keys(tuple(settings.MY_NUMBER_KEYS))


def encrypt_my_number(value: str) -> str:
    key_id, aead = _configured_keys()[0]
    nonce = os.urandom(12)
    token = _VERSION + key_id + nonce + aead.encrypt(nonce, value.encode("ascii"), _AAD)
    return base64.urlsafe_b64encode(token).decode("ascii")


def decrypt_my_number(token: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
    except (binascii.Error, ValueError):
        raise DecryptionError("not a ciphertext") from None
    if raw[:1] != _VERSION or len(raw) < 1 + 4 + 12 + 16:
        raise DecryptionError("unknown ciphertext version")
    key_id, nonce, body = raw[1:5], raw[5:17], raw[17:]
    for candidate_id, aead in _configured_keys():
        if hmac.compare_digest(candidate_id, key_id):
            try:
                return aead.decrypt(nonce, body, _AAD).decode("ascii")
            except InvalidTag:
                raise DecryptionError("ciphertext does not authenticate") from None
    raise DecryptionError("no configured key matches the ciphertext")


def is_encrypted_with_current_key(token: str) -> bool:
    raw = base64.urlsafe_b64decode(token.encode("ascii"))
    return raw[1:5] == _configured_keys()[0][0]


def my_number_blind_index(value: str) -> str:
    """Deterministic keyed hash of a normalised My Number, for exact-match lookup."""
    key = settings.MY_NUMBER_INDEX_KEY.encode("utf-8")
    return hmac.new(key, value.encode("ascii"), hashlib.sha256).hexdigest()


# --- Files (clinic CSVs) ---------------------------------------------------------------------------
# Same keys and rotation as My Number, raw bytes instead of base64 (files can be 50 MB), and a different
# associated data so a file can never be passed off as a My Number ciphertext or the other way round.
_BLOB_AAD = b"koshigaya-vax:blob"
_BLOB_HEADER = 1 + 4 + 12


def encrypt_blob(data: bytes) -> bytes:
    """AES-256-GCM under the first key of MY_NUMBER_KEYS: ``version | key id | nonce | ciphertext+tag``."""
    key_id, aead = _configured_keys()[0]
    nonce = os.urandom(12)
    return _VERSION + key_id + nonce + aead.encrypt(nonce, data, _BLOB_AAD)


def decrypt_blob(token: bytes) -> bytes:
    """The bytes ``encrypt_blob`` was given; raises DecryptionError if no listed key authenticates them."""
    if token[:1] != _VERSION or len(token) < _BLOB_HEADER + 16:
        raise DecryptionError("unknown ciphertext version")
    key_id, nonce, body = token[1:5], token[5:17], token[17:]
    for candidate_id, aead in _configured_keys():
        if hmac.compare_digest(candidate_id, key_id):
            try:
                return aead.decrypt(nonce, body, _BLOB_AAD)
            except InvalidTag:
                raise DecryptionError("ciphertext does not authenticate") from None
    raise DecryptionError("no configured key matches the ciphertext")
