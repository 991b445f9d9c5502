"""Attributing changes to an actor.

django-auditlog keeps the actor in a context variable but never resets it: after its middleware or its
``set_actor`` exits, the stale value stays behind (with its signal receiver already disconnected), and
``set_actor`` nested in a request replaces the request's remote address. ``acting_as`` keeps the outer
remote address and restores the variable exactly on exit; ``audit.middleware.AuditContextMiddleware``
runs each request in its own copy of the context so nothing outlives the request.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from auditlog.context import auditlog_value, set_actor


def current_context() -> dict[str, Any]:
    return auditlog_value.get(None) or {}


@contextmanager
def acting_as(actor: Any) -> Iterator[None]:
    # Always a fresh context, even when the current one names the same actor: a stale value left by an
    # exited set_actor looks identical but its signal receiver is gone.
    previous = auditlog_value.get(None)
    remote_addr = previous.get("remote_addr") if previous else None
    remote_port = previous.get("remote_port") if previous else None
    token = auditlog_value.set(previous)
    try:
        with set_actor(actor, remote_addr=remote_addr, remote_port=remote_port):
            yield
    finally:
        auditlog_value.reset(token)
