"""Shared API plumbing: one error shape for the whole API (``{"error": {"code", "message", "fields"}}``),
the schema of that shape, and routing of one URL to one API class per HTTP method."""

from collections.abc import Callable
from typing import Any

from django.core.exceptions import (
    NON_FIELD_ERRORS,
    ObjectDoesNotExist,
    PermissionDenied,
)
from django.core.exceptions import (
    ValidationError as DjangoValidationError,
)
from django.http import Http404, HttpRequest, HttpResponseBase
from drf_spectacular.utils import extend_schema_serializer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.permissions import VIEW_API_DOCS

# API clients authenticate with a token; browsers use the session, which has no challenge to offer.
AUTHENTICATE_CHALLENGE = "Token"


def _fields_from_django(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field: [
                str(m) for e in errors for m in e.messages
            ]
            for field, errors in exc.error_dict.items()
        }
    return {api_settings.NON_FIELD_ERRORS_KEY: [str(m) for m in exc.messages]}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_fields_from_django(exc))
    elif isinstance(exc, Http404 | ObjectDoesNotExist):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        if not isinstance(detail, dict):
            detail = {api_settings.NON_FIELD_ERRORS_KEY: detail}
        body = {"code": "validation_error", "message": "入力内容に誤りがあります。", "fields": detail}
    else:
        code = getattr(exc, "default_code", "error")
        body = {"code": code, "message": str(getattr(exc, "detail", exc)), "fields": {}}
    response.data = {"error": body}
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        # DRF answers 403 when the first authenticator (the session) has no challenge; a missing or bad
        # credential is a 401 that tells the client how to authenticate.
        response.status_code = status.HTTP_401_UNAUTHORIZED
    if response.status_code == status.HTTP_401_UNAUTHORIZED and "WWW-Authenticate" not in response:
        response["WWW-Authenticate"] = AUTHENTICATE_CHALLENGE
    return response


@extend_schema_serializer(description="エラー応答（全APIで共通の形）。")
class ErrorSerializer(serializers.Serializer):
    """Schema of every error response (documentation only)."""

    class ErrorBodySerializer(serializers.Serializer):
        code = serializers.CharField()
        message = serializers.CharField()
        # A declared field named like Serializer.fields: the serializer metaclass moves it out of the class.
        fields = serializers.DictField(  # type: ignore[assignment]
            child=serializers.ListField(child=serializers.CharField()),
            help_text="項目名ごとのエラーメッセージ。項目に属さないものは non_field_errors。",
        )

    error = ErrorBodySerializer()


def method_route(**operations: type[APIView]) -> Callable[..., HttpResponseBase]:
    """One URL served by one API class per HTTP method, e.g.
    ``method_route(get=ResidentRecordListApi, post=VaccinationRecordCreateApi)``.

    Each operation class keeps its own serializers and ``required_permission``; this only picks the class
    by method. The returned view carries ``cls`` (so the access-policy middleware and the schema generator
    treat it as a DRF view), is CSRF-exempt at Django's level like every DRF view (SessionAuthentication
    enforces CSRF itself), and lists its ``operations`` for ``expand_method_routes``.
    """
    if not operations:
        raise ValueError("method_route needs at least one operation")
    views = {method.upper(): api.as_view() for method, api in operations.items()}
    if "GET" in views:
        views.setdefault("HEAD", views["GET"])
    fallback = next(iter(views.values()))
    allow = ", ".join([*(m for m in views if m != "HEAD"), "OPTIONS"])

    def route(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        view = views.get(request.method or "")
        if view is not None:
            return view(request, *args, **kwargs)
        response = fallback(request, *args, **kwargs)  # 405 or OPTIONS, in the API's own shape
        response["Allow"] = allow
        return response

    route.cls = fallback.cls  # type: ignore[attr-defined]
    route.initkwargs = {}  # type: ignore[attr-defined]
    route.csrf_exempt = True  # type: ignore[attr-defined]
    route.operations = {m: v for m, v in views.items() if m != "HEAD"}  # type: ignore[attr-defined]
    return route


def expand_method_routes(endpoints: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """drf-spectacular preprocessing hook: document every operation of a ``method_route`` URL (the
    generator sees only the route's first class)."""
    expanded: list[tuple[Any, ...]] = []
    for path, path_regex, method, callback in endpoints:
        operations = getattr(callback, "operations", None)
        if operations is None:
            expanded.append((path, path_regex, method, callback))
            continue
        expanded.extend((path, path_regex, op_method, view) for op_method, view in operations.items())
    return expanded


class SchemaApi(SpectacularAPIView):
    """The OpenAPI 3 document, for staff and administrators (it describes what the API exposes)."""

    required_permission = VIEW_API_DOCS
    permission_classes = api_settings.DEFAULT_PERMISSION_CLASSES


class DocsApi(SpectacularSwaggerView):
    """Swagger UI, served from drf-spectacular-sidecar's static files: nothing loads from a CDN."""

    required_permission = VIEW_API_DOCS
    permission_classes = api_settings.DEFAULT_PERMISSION_CLASSES
    url_name = "api:schema"
