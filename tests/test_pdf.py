"""The one PDF renderer (koshigaya_vax/pdf.py): A4, Japanese text with an embedded Japanese font, and no
resource from anywhere but data: URLs and our own static files — a PDF never reaches the network."""

import base64
import socket

import pytest

from koshigaya_vax.pdf import PDF_BASE_URL, PdfResourceRefused, pdf_render, static_file_for
from tests.audit.test_desk_helpers import pdf_font_names, pdf_text

A4_PORTRAIT = (595.28, 841.89)
PNG_1X1 = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
    )
).decode()


@pytest.fixture
def template_dir(tmp_path, settings):
    """A template directory of our own, searched first."""
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    return tmp_path


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def write(template_dir, name: str, body: str) -> str:
    (template_dir / name).write_text(
        '{% extends "pdf/base.html" %}{% block heading %}試験文書{% endblock %}'
        "{% block content %}" + body + "{% endblock %}",
        encoding="utf-8",
    )
    return name


def test_renders_a4_with_japanese_text_and_an_embedded_japanese_font(template_dir, no_network):
    import io

    from pypdf import PdfReader

    name = write(template_dir, "ja.html", "<p>越谷市の予防接種記録。氏名：越谷 花子（コシガヤ ハナコ）{{ extra }}</p>")
    content = pdf_render(template_name=name, context={"extra": "令和7年4月1日"})
    assert content.startswith(b"%PDF-")
    page = PdfReader(io.BytesIO(content)).pages[0]
    assert (round(float(page.mediabox.width), 2), round(float(page.mediabox.height), 2)) == A4_PORTRAIT
    text = pdf_text(content)
    for expected in ("試験文書", "越谷市の予防接種記録", "越谷 花子", "コシガヤ ハナコ", "令和7年4月1日"):
        assert expected in text, expected
    assert "NotoSansCJKJP" in pdf_font_names(content)
    assert no_network == []


@pytest.mark.parametrize("markup", [
    '<img src="https://example.com/logo.png">',
    '<img src="http://192.0.2.1/logo.png">',
    '<img src="//example.com/logo.png">',
    '<link rel="stylesheet" href="https://example.com/print.css">',
    '<style>@import url("https://example.com/import.css");</style>',
    '<div style="background: url(http://example.com/bg.png)">x</div>',
    "<style>@font-face { font-family: X; src: url(https://fonts.example.com/x.woff2); }"
    " p { font-family: X; }</style><p>x</p>",
    '<img src="file:///etc/passwd">',
    '<img src="/media/uploads/file.csv">',
    '<img src="/static/../../../../etc/passwd">',
    '<img src="ftp://example.com/x.png">',
])
def test_refuses_anything_but_data_urls_and_static_files(template_dir, no_network, markup):
    name = write(template_dir, "remote.html", markup)
    with pytest.raises(PdfResourceRefused):
        pdf_render(template_name=name, context={})
    assert no_network == []


def test_data_urls_and_our_static_files_are_allowed(template_dir, no_network):
    name = write(template_dir, "local.html",
                 '<link rel="stylesheet" href="/static/css/app.css">'
                 f'<img src="data:image/png;base64,{PNG_1X1}" alt=""><p>静的ファイルのみ</p>')
    content = pdf_render(template_name=name, context={})
    assert "静的ファイルのみ" in pdf_text(content)
    assert no_network == []


def test_static_lookup_is_confined_to_static_files(settings):
    prefix = PDF_BASE_URL + settings.STATIC_URL.strip("/") + "/"
    found = static_file_for(prefix + "css/app.css")
    assert found is not None and found.name == "app.css" and found.is_file()
    for url in (prefix + "css/missing.css", prefix + "../settings.py", prefix + "css/app.css?x=1",
                "https://example.com/static/css/app.css", PDF_BASE_URL + "media/x.png"):
        assert static_file_for(url) is None, url


def test_personal_data_in_the_context_is_text_not_markup(template_dir, no_network):
    """Values are escaped by the template engine: a name holding markup cannot make the PDF fetch."""
    name = write(template_dir, "escaped.html", "<p>{{ value }}</p>")
    content = pdf_render(template_name=name, context={"value": '<img src="https://example.com/x.png">越谷'})
    assert '<img src="https://example.com/x.png">越谷' in pdf_text(content)
    assert no_network == []
