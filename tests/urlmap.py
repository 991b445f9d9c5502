"""Every URL pattern of the project with a concrete sample path, for policy tests that must cover new
URLs automatically."""

import re
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern, RoutePattern

_ROUTE_PARAM = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")
_SAMPLE_BY_CONVERTER = {
    "int": "1", "str": "x", "slug": "x", "path": "x", "uuid": "00000000-0000-0000-0000-000000000001",
}
_NAMED_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>[^()]*(?:\([^()]*\)[^()]*)*)\)")


@dataclass(frozen=True)
class UrlSample:
    name: str  # namespace:name, or the route when unnamed
    path: str
    callback: Any


def _sample_route(route: str) -> str:
    return _ROUTE_PARAM.sub(lambda m: _SAMPLE_BY_CONVERTER.get(m["conv"] or "str", "x"), route)


def _sample_group(body: str) -> str:
    if "|" in body and not any(ch in body for ch in "[]\\*+"):
        return body.split("|")[0]
    if body in (r"\d+", "[0-9]+"):
        return "1"
    return "x"


def _sample_regex(regex: str) -> str:
    text = regex.lstrip("^").removesuffix(r"\Z").removesuffix("$")
    text = _NAMED_GROUP.sub(lambda m: _sample_group(m["body"]), text)
    return text.replace("\\", "")


def _sample(pattern: Any) -> str:
    if isinstance(pattern, RoutePattern):
        return _sample_route(str(pattern))
    if isinstance(pattern, RegexPattern):
        return _sample_regex(pattern.regex.pattern)
    raise TypeError(f"unknown pattern type {type(pattern)!r}")


def _walk(patterns: list[Any], prefix: str, namespace: str) -> list[UrlSample]:
    found: list[UrlSample] = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = ":".join(p for p in (namespace, entry.namespace or "") if p)
            found += _walk(entry.url_patterns, prefix + _sample(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            path = "/" + prefix + _sample(entry.pattern)
            name = f"{namespace}:{entry.name}" if namespace and entry.name else (entry.name or path)
            found.append(UrlSample(name=name, path=path, callback=entry.callback))
    return found


def all_urls() -> list[UrlSample]:
    """Every pattern, each with a path that resolves back to that pattern's view."""
    samples = _walk(get_resolver().url_patterns, "", "")
    for sample in samples:
        match = resolve(sample.path)
        if match.func != sample.callback:
            raise AssertionError(f"sample path {sample.path} for {sample.name} resolves elsewhere")
    return samples
