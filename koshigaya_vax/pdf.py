"""The one PDF renderer: a Django template rendered to A4 PDF bytes with WeasyPrint.

Templates extend ``pdf/base.html`` (A4, ``lang="ja"``, the Noto Sans CJK JP font stack of Debian's
fonts-noto-cjk, which WeasyPrint finds through fontconfig and embeds as a subset). Rendering never
touches the network: the URL fetcher serves ``data:`` URLs and our own static files and refuses anything
else, and a refused resource stops the rendering (``PdfResourceRefused``) instead of producing a PDF
silently missing part of its content. PDFs are services that return bytes and never see a request.
"""

import mimetypes
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

# Relative URLs in PDF templates ({% static %} gives "/static/...") resolve against this base. The host
# is under the reserved .invalid TLD: it names our own static files and can never reach a network.
PDF_BASE_URL = "https://kvax-static.invalid/"


class PdfResourceRefused(ValueError):
    """A PDF template asked for a resource that is neither a data: URL nor one of our static files."""


@cache
def local_only_fetcher_class() -> type:
    """WeasyPrint's fetcher limited to ``data:`` URLs (decoded by urllib's DataHandler, no I/O) and files
    found by the staticfiles finders under PDF_BASE_URL + STATIC_URL. Built on first use: WeasyPrint is
    imported only by processes that render a PDF."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class LocalOnlyURLFetcher(URLFetcher):  # type: ignore[misc]
        def __init__(self) -> None:
            # fail_on_errors: WeasyPrint turns any fetch error into FatalURLFetchingError and stops.
            super().__init__(allowed_protocols=("data",), allow_redirects=False, fail_on_errors=True)

        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.lower().startswith("data:"):
                return super().fetch(url, headers)
            path = static_file_for(url)
            if path is None:
                raise PdfResourceRefused(f"PDF resource refused (only data: URLs and static files): {url[:200]}")
            mime_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime_type})

    return LocalOnlyURLFetcher


def static_file_for(url: str) -> Path | None:
    """The static file an URL under PDF_BASE_URL + STATIC_URL names, or None."""
    prefix = PDF_BASE_URL.rstrip("/") + "/" + settings.STATIC_URL.strip("/") + "/"
    if not url.startswith(prefix):
        return None
    parts = urlsplit(url)
    relative = unquote(parts.path)[len(urlsplit(prefix).path):]
    if not relative or parts.query or parts.fragment or ".." in relative.split("/"):
        return None
    found = finders.find(relative)  # searches STATICFILES_DIRS and app static dirs with safe_join
    if not isinstance(found, str):
        return None
    return Path(found)


def pdf_render(*, template_name: str, context: dict[str, Any]) -> bytes:
    """Render ``template_name`` with ``context`` to PDF bytes. Raises PdfResourceRefused when the
    document refers to anything outside the allowed resources."""
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    html = render_to_string(template_name, context)
    try:
        document = HTML(string=html, base_url=PDF_BASE_URL, url_fetcher=local_only_fetcher_class()())
        return bytes(document.write_pdf())
    except FatalURLFetchingError as exc:
        cause = exc.__cause__
        if isinstance(cause, PdfResourceRefused):
            raise cause from None
        raise PdfResourceRefused(str(cause or exc)) from cause
