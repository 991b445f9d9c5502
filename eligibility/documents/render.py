"""PDF rendering of tickets, letters and certificates through ``koshigaya_vax.pdf.pdf_render``.

A sequence of tickets or letters is one template, one WeasyPrint document, one item per A4 page: layout,
font subsetting and PDF writing are done once per call rather than once per page and merged afterwards.
The caller chooses the chunk size (a chunk is what the print shop receives as one file)."""

from collections.abc import Sequence
from typing import Any

from eligibility.documents.codes import codabar_data_url, qr_data_url
from eligibility.documents.data import CertificateData, LetterData, TicketData, ocr_line
from koshigaya_vax.pdf import pdf_render
from records.rules.dates import format_era


def postal_code_display(raw: str) -> str:
    """``3438501`` → ``343-8501``; anything else is printed as given."""
    digits = raw.replace("-", "").replace("－", "").strip()
    if len(digits) == 7 and digits.isascii() and digits.isdigit():
        return f"{digits[:3]}-{digits[3:]}"
    return raw.strip()


def _ticket_context(ticket: TicketData) -> dict[str, Any]:
    line = ocr_line(ticket)
    return {
        "ticket": ticket,
        "ocr": line,
        "ocr_grouped": f"{line[0]} {line[1]} {line[2:8]} {line[8:]}",
        "qr_url": qr_data_url(line),
        "codabar_url": codabar_data_url(line),
        "postal_code": postal_code_display(ticket.postal_code),
        "birth_date": format_era(ticket.birth_date),
        "period_start": format_era(ticket.period_start),
        "period_end": format_era(ticket.period_end),
        "issued_on": format_era(ticket.issued_on),
    }


def _letter_context(letter: LetterData) -> dict[str, Any]:
    return {
        "letter": letter,
        "postal_code": postal_code_display(letter.postal_code),
        "period_start": format_era(letter.period_start),
        "period_end": format_era(letter.period_end),
        "issued_on": format_era(letter.issued_on),
    }


def _require_items(items: Sequence[Any], kind: type) -> None:
    if not items:
        raise ValueError(f"nothing to render: an empty sequence of {kind.__name__}")
    for index, item in enumerate(items):
        if not isinstance(item, kind):
            raise ValueError(f"item {index} is {type(item).__name__}, expected {kind.__name__}")


def render_tickets(items: Sequence[TicketData]) -> bytes:
    """One PDF, one ticket (接種券) per A4 page, in the order given."""
    _require_items(items, TicketData)
    return pdf_render(
        template_name="eligibility/pdf/tickets.html", context={"tickets": [_ticket_context(t) for t in items]}
    )


def render_letters(items: Sequence[LetterData]) -> bytes:
    """One PDF, one recommendation letter (勧奨通知) per A4 page, in the order given."""
    _require_items(items, LetterData)
    return pdf_render(
        template_name="eligibility/pdf/letters.html", context={"letters": [_letter_context(x) for x in items]}
    )


def certificate_rows(data: CertificateData) -> list[dict[str, Any]]:
    """The dose rows of a certificate: each confirmed dose, then "＊" rows up to ``slots``."""
    rows: list[dict[str, Any]] = [
        {
            "filled": True,
            "dose_number": dose.dose_number,
            "vaccinated_on": format_era(dose.vaccinated_on),
            "vaccine_name": dose.vaccine_name,
            "lot_number": dose.lot_number,
            "clinic_name": dose.clinic_name,
        }
        for dose in sorted(data.doses, key=lambda d: d.vaccinated_on)
    ]
    rows.extend({"filled": False} for _ in range(max(0, data.slots - len(rows))))
    return rows


def render_certificate(data: CertificateData) -> bytes:
    """A certificate of vaccination (接種済証): each dose (date, vaccine, lot, clinic), unconfirmed slots
    struck through with "＊" so nobody can write a dose in by hand."""
    if not isinstance(data, CertificateData):
        raise ValueError(f"expected CertificateData, got {type(data).__name__}")
    return pdf_render(
        template_name="eligibility/pdf/certificate.html",
        context={
            "certificate": data,
            "rows": certificate_rows(data),
            "postal_code": postal_code_display(data.postal_code),
            "birth_date": format_era(data.birth_date),
            "issued_on": format_era(data.issued_on),
        },
    )
