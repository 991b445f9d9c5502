"""Notices and certificates as print-ready PDFs, and the print-vendor CSV of the same data.

The interface other parts of eligibility build against:

- ``TicketData`` (接種券), ``LetterData`` (勧奨通知), ``CertificateData`` + ``DoseLine`` (接種済証): frozen
  dataclasses validated on construction (ValueError with the field named).
- ``ocr_line(ticket)``: the 18 digits type(1) + dose(1) + municipality(6) + ticket number(10), also
  encoded in the ticket's QR code and NW-7 (Codabar) barcode (see ``codes``).
- ``render_tickets`` / ``render_letters``: one PDF for the whole sequence (one WeasyPrint document, one
  item per A4 page); ``render_certificate``: one certificate.
- ``tickets_csv`` / ``letters_csv``: the same data for print vendors (formula-safe, UTF-8 BOM, CRLF).

Rendering is pure: bytes out, nothing stored and nothing audited here. The caller records the business
event (a notice batch, a certificate issue) in its own transaction.
"""

from eligibility.documents.data import CertificateData, DoseLine, LetterData, TicketData, ocr_line
from eligibility.documents.export import letters_csv, tickets_csv
from eligibility.documents.render import render_certificate, render_letters, render_tickets

__all__ = [
    "CertificateData",
    "DoseLine",
    "LetterData",
    "TicketData",
    "letters_csv",
    "ocr_line",
    "render_certificate",
    "render_letters",
    "render_tickets",
    "tickets_csv",
]
