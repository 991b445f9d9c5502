"""django-auditlog's middleware, run in a copy of the request's context so the actor and remote
address it sets cannot outlive the request (auditlog itself never resets them)."""

import contextvars

from auditlog.middleware import AuditlogMiddleware
from django.http import HttpRequest, HttpResponse


class AuditContextMiddleware(AuditlogMiddleware):
    def __call__(self, request: HttpRequest) -> HttpResponse:
        return contextvars.copy_context().run(super().__call__, request)
