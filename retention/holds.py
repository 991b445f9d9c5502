"""Who must never be purged while a reason stands.

Other apps register a provider of resident ids under hold (open disclosure, correction or suspension
requests in ``rights``); retention adds the administrators' own holds. Providers are plain callables
returning an iterable of resident ids, registered from an app's ``ready()``.
"""

from collections.abc import Callable, Iterable

HoldProvider = Callable[[], Iterable[int]]

_providers: dict[str, HoldProvider] = {}


def register_hold_provider(name: str, provider: HoldProvider) -> None:
    """Register (or replace, so ``ready()`` may run twice) the provider called ``name``."""
    _providers[name] = provider


def hold_providers() -> dict[str, HoldProvider]:
    return dict(_providers)


def held_resident_ids_from_providers() -> set[int]:
    held: set[int] = set()
    for provider in _providers.values():
        held.update(provider())
    return held
