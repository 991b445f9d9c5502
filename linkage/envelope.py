"""Hybrid encryption of what crosses the information-provision network (seed III.6 risk 4 ※: data sent
is encrypted so that only the requester can decrypt it). Django-free: the mock intermediate server uses
it too.

X25519 key agreement with a fresh ephemeral key per message, HKDF-SHA256 to a 256-bit key, AES-256-GCM.
The associated data binds a ciphertext to its exchange (e.g. the provision permit id), so an answer
cannot be replayed as the answer to another query. Wire form (JSON object, base64url fields)::

    {"v": 1, "kid": "<recipient key id>", "epk": "<ephemeral public key>", "nonce": "...", "ct": "..."}

A key id is the first 16 hex digits of SHA-256 over the raw 32-byte public key.
"""

import base64
import hashlib
import json
import os
from collections.abc import Iterable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = 1
_INFO = b"koshigaya-vax linkage envelope v1"


class EnvelopeError(Exception):
    """The envelope is malformed, or no given key opens it."""


def b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


def b64d(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise EnvelopeError("not base64") from exc


def private_key_from_text(text: str) -> X25519PrivateKey:
    raw = b64d(text.strip())
    if len(raw) != 32:
        raise EnvelopeError("an X25519 private key is 32 bytes")
    return X25519PrivateKey.from_private_bytes(raw)


def public_key_from_text(text: str) -> X25519PublicKey:
    raw = b64d(text.strip())
    if len(raw) != 32:
        raise EnvelopeError("an X25519 public key is 32 bytes")
    return X25519PublicKey.from_public_bytes(raw)


def _raw_public(key: X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_text(private_key: X25519PrivateKey) -> str:
    return b64e(_raw_public(private_key.public_key()))


def private_key_text(private_key: X25519PrivateKey) -> str:
    return b64e(private_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                          serialization.NoEncryption()))


def key_id(public_key: X25519PublicKey | str) -> str:
    key = public_key_from_text(public_key) if isinstance(public_key, str) else public_key
    return hashlib.sha256(_raw_public(key)).hexdigest()[:16]


def generate_private_key_text() -> str:
    return private_key_text(X25519PrivateKey.generate())


def _derive(shared: bytes, epk: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=epk + recipient, info=_INFO).derive(shared)


def seal(payload: Any, *, recipient_public_key: str, context: str) -> dict[str, Any]:
    """Encrypt the JSON-serialisable ``payload`` for the holder of ``recipient_public_key``."""
    recipient = public_key_from_text(recipient_public_key)
    ephemeral = X25519PrivateKey.generate()
    epk = _raw_public(ephemeral.public_key())
    key = _derive(ephemeral.exchange(recipient), epk, _raw_public(recipient))
    nonce = os.urandom(12)
    plaintext = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, context.encode("utf-8"))
    return {"v": VERSION, "kid": key_id(recipient), "epk": b64e(epk), "nonce": b64e(nonce), "ct": b64e(ciphertext)}


def open_envelope(envelope: dict[str, Any], *, private_keys: Iterable[X25519PrivateKey], context: str) -> Any:
    """Decrypt with whichever of ``private_keys`` the envelope was sealed for (the one whose key id it
    names first, then every other: a rotated key list keeps old keys for decryption)."""
    if not isinstance(envelope, dict) or envelope.get("v") != VERSION:
        raise EnvelopeError("unknown envelope version")
    try:
        epk, nonce, ciphertext = b64d(envelope["epk"]), b64d(envelope["nonce"]), b64d(envelope["ct"])
    except (KeyError, TypeError) as exc:
        raise EnvelopeError("incomplete envelope") from exc
    if len(epk) != 32 or len(nonce) != 12:
        raise EnvelopeError("malformed envelope")
    keys = list(private_keys)
    keys.sort(key=lambda k: key_id(k.public_key()) != envelope.get("kid"))
    ephemeral = X25519PublicKey.from_public_bytes(epk)
    for private_key in keys:
        key = _derive(private_key.exchange(ephemeral), epk, _raw_public(private_key.public_key()))
        try:
            plaintext = AESGCM(key).decrypt(nonce, ciphertext, context.encode("utf-8"))
        except InvalidTag:
            continue
        return json.loads(plaintext.decode("utf-8"))
    raise EnvelopeError("no configured key opens the envelope")
