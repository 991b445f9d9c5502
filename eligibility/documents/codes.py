"""The machine-readable marks of a ticket, as tiny 1-bit PNG images embedded as ``data:`` URLs (the PDF
fetcher loads nothing else) and scaled up in the PDF without interpolation (CSS ``image-rendering:
pixelated``), so every module stays a sharp-edged rectangle at any print resolution.

- QR code: the 18 OCR digits, numeric mode, error correction M, 4-module quiet zone; one pixel per module.
- NW-7 (Codabar): start character ``A``, the 18 digits, stop character ``A`` (``A`` + digits + ``A``), the
  start/stop pair Japanese readers accept by default; a reader strips them and returns the 18 digits.
  Narrow:wide = 2:5 (ratio 2.5, inside the 2-3 the symbology allows), a 10-narrow quiet zone either side,
  drawn as a one-pixel-high strip stretched to the bar height. No check digit: the OCR line itself carries
  none, and the three marks must agree digit for digit.

PNG rather than SVG: WeasyPrint parses an SVG path in Python on every page, which cost more than laying
out the rest of the ticket; a PNG of a few hundred bytes is decoded by Pillow and drawn as one image.
"""

import base64
import io
import re

import qrcode
from barcode.codabar import CODABAR
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M

CODABAR_START = "A"
CODABAR_STOP = "A"
_DIGITS = re.compile(r"[0-9]+")


def _png_data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def qr_modules(payload: str) -> list[list[bool]]:
    """The module matrix of the QR code of ``payload`` (digits), quiet zone included; True is dark."""
    if not _DIGITS.fullmatch(payload):
        raise ValueError("QR payload must be ASCII digits")
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4)
    code.add_data(payload)
    code.make(fit=True)
    return [[bool(cell) for cell in row] for row in code.get_matrix()]


def codabar_text(digits: str) -> str:
    """The full Codabar string for ``digits``: start and stop characters around them."""
    if not _DIGITS.fullmatch(digits):
        raise ValueError("Codabar payload must be ASCII digits")
    return f"{CODABAR_START}{digits}{CODABAR_STOP}"


def codabar_modules(digits: str, *, narrow: int = 2, wide: int = 5, quiet: int = 20) -> str:
    """The bar pattern of ``digits`` as "1" (bar) and "0" (space), quiet zones included."""
    pattern = CODABAR(codabar_text(digits), narrow=narrow, wide=wide).build()[0]
    return "0" * quiet + pattern + "0" * quiet


def qr_data_url(payload: str) -> str:
    modules = qr_modules(payload)
    size = len(modules)
    image = Image.new("1", (size, size), 1)
    image.putdata([0 if dark else 1 for row in modules for dark in row])
    return _png_data_url(image)


def codabar_data_url(digits: str) -> str:
    pattern = codabar_modules(digits)
    image = Image.new("1", (len(pattern), 1), 1)
    image.putdata([0 if bit == "1" else 1 for bit in pattern])
    return _png_data_url(image)
