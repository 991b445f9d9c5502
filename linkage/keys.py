"""Our linkage key pairs, from settings.LINKAGE_PRIVATE_KEYS (newest first). See docs/linkage.md for the
rotation procedure: put the new key first, register its public key with the intermediate server, keep
the old ones listed until no exchange sealed for them can still arrive."""

from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from linkage.envelope import EnvelopeError, private_key_from_text, public_key_text


@lru_cache(maxsize=4)
def _parse(raw: tuple[str, ...]) -> tuple[X25519PrivateKey, ...]:
    if not raw:
        raise ImproperlyConfigured("LINKAGE_PRIVATE_KEYS must list at least one key to use linkage.")
    try:
        return tuple(private_key_from_text(text) for text in raw)
    except EnvelopeError:
        raise ImproperlyConfigured("LINKAGE_PRIVATE_KEYS holds a value that is not a 32-byte X25519 key "
                                   "in urlsafe base64.") from None


def our_private_keys() -> tuple[X25519PrivateKey, ...]:
    return _parse(tuple(settings.LINKAGE_PRIVATE_KEYS))


def our_public_keys() -> list[str]:
    return [public_key_text(key) for key in our_private_keys()]


def our_reply_key() -> str:
    """The public key answers to our new queries are sealed for: the newest one's."""
    return public_key_text(our_private_keys()[0])
