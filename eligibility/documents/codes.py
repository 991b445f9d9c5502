"""The machine-readable marks of a ticket, drawn as SVG and embedded as ``data:`` URLs (the PDF fetcher
loads nothing else).

- QR code: the 18 OCR digits, numeric mode, error correction M, 4-module quiet zone.
- NW-7 (Codabar): start character ``A``, the 18 digits, stop character ``A`` (``A`` + digits + ``A``), the
  start/stop pair most Japanese readers are configured for by default; a reader strips them and returns the
  18 digits. Narrow:wide = 2:5 (ratio 2.5, inside the 2-3 the symbology allows), with a 10-narrow quiet
  zone either side. No check digit: the OCR line itself carries none, and the three marks must agree.

Both are drawn from their module patterns as merged rectangles, so a page holds two small vector paths
instead of hundreds of squares.
"""

import base64
import re

import qrcode
from barcode.codabar import CODABAR
from qrcode.constants import ERROR_CORRECT_M

CODABAR_START = "A"
CODABAR_STOP = "A"
_DIGITS = re.compile(r"[0-9]+")


def _svg_data_url(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("ascii")).decode("ascii")


def qr_svg(payload: str) -> str:
    """An SVG QR code of ``payload`` (digits), sized by the caller through CSS; one path of row runs."""
    if not _DIGITS.fullmatch(payload):
        raise ValueError("QR payload must be ASCII digits")
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4)
    code.add_data(payload)
    code.make(fit=True)
    matrix = code.get_matrix()  # includes the border
    size = len(matrix)
    parts = []
    for y, row in enumerate(matrix):
        x = 0
        while x < size:
            if row[x]:
                start = x
                while x < size and row[x]:
                    x += 1
                parts.append(f"M{start},{y}h{x - start}v1h{start - x}z")
            else:
                x += 1
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" shape-rendering="crispEdges">'
        f'<rect width="{size}" height="{size}" fill="#fff"/><path fill="#000" d="{"".join(parts)}"/></svg>'
    )


def codabar_text(digits: str) -> str:
    """The full Codabar string for ``digits``: start and stop characters around them."""
    if not _DIGITS.fullmatch(digits):
        raise ValueError("Codabar payload must be ASCII digits")
    return f"{CODABAR_START}{digits}{CODABAR_STOP}"


def codabar_svg(digits: str, *, narrow: int = 2, wide: int = 5, quiet: int = 20) -> str:
    """An SVG NW-7 barcode of ``digits`` (without human-readable text: the OCR line is printed beside it)."""
    modules = CODABAR(codabar_text(digits), narrow=narrow, wide=wide).build()[0]
    width = len(modules) + 2 * quiet
    bars = []
    x = 0
    while x < len(modules):
        if modules[x] == "1":
            start = x
            while x < len(modules) and modules[x] == "1":
                x += 1
            bars.append(f"M{start + quiet},0h{x - start}v1h{start - x}z")
        else:
            x += 1
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} 1" preserveAspectRatio="none" '
        f'shape-rendering="crispEdges"><rect width="{width}" height="1" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(bars)}"/></svg>'
    )


def qr_data_url(payload: str) -> str:
    return _svg_data_url(qr_svg(payload))


def codabar_data_url(digits: str) -> str:
    return _svg_data_url(codabar_svg(digits))
