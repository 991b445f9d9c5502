"""What goes on a printed notice or certificate: plain frozen dataclasses, validated on construction so a
malformed ticket can never reach the printer (a wrong digit on an OCR line sends a clinic's claim to the
wrong person). No ORM, no clock: the caller fills these from the database."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

KOSHIGAYA_MUNICIPALITY_CODE = "112224"

_TEN_DIGITS = re.compile(r"[0-9]{10}")
_SIX_DIGITS = re.compile(r"[0-9]{6}")


def _one_digit(value: object, label: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 9:
        raise ValueError(f"{label} must be one digit 0-9 (got {value!r})")


def _period(start: date, end: date) -> None:
    if start > end:
        raise ValueError(f"period_start {start.isoformat()} is after period_end {end.isoformat()}")


@dataclass(frozen=True)
class TicketData:
    """One vaccination ticket (接種券)."""

    ticket_number: str  # 10 digits
    ticket_type: int  # 1 digit
    dose_number: int  # 1 digit
    name: str
    name_kana: str
    postal_code: str
    address: str
    birth_date: date
    vaccine_name: str
    campaign_name: str
    period_start: date
    period_end: date
    issued_on: date
    municipality_code: str = KOSHIGAYA_MUNICIPALITY_CODE

    def __post_init__(self) -> None:
        # fullmatch on an ASCII class: str.isdigit() would accept full-width and superscript digits.
        if not isinstance(self.ticket_number, str) or not _TEN_DIGITS.fullmatch(self.ticket_number):
            raise ValueError(f"ticket_number must be exactly 10 ASCII digits (got {self.ticket_number!r})")
        _one_digit(self.ticket_type, "ticket_type")
        _one_digit(self.dose_number, "dose_number")
        if not isinstance(self.municipality_code, str) or not _SIX_DIGITS.fullmatch(self.municipality_code):
            raise ValueError(f"municipality_code must be exactly 6 ASCII digits (got {self.municipality_code!r})")
        _period(self.period_start, self.period_end)


@dataclass(frozen=True)
class LetterData:
    """One recommendation letter (勧奨通知). ``body`` replaces the standard text when given."""

    name: str
    postal_code: str
    address: str
    campaign_name: str
    vaccine_name: str
    period_start: date
    period_end: date
    issued_on: date
    body: str = ""

    def __post_init__(self) -> None:
        _period(self.period_start, self.period_end)


@dataclass(frozen=True)
class DoseLine:
    """One confirmed dose on a certificate."""

    dose_number: int | None
    vaccinated_on: date
    vaccine_name: str
    lot_number: str
    clinic_name: str


@dataclass(frozen=True)
class CertificateData:
    """A certificate of vaccination (接種済証). ``slots`` is the number of dose rows printed: rows without
    a confirmed dose are filled with "＊". More doses than slots are all printed (never dropped)."""

    name: str
    name_kana: str
    birth_date: date
    postal_code: str
    address: str
    doses: Sequence[DoseLine]
    slots: int
    issued_on: date
    municipality_name: str = "越谷市"

    def __post_init__(self) -> None:
        if isinstance(self.slots, bool) or not isinstance(self.slots, int) or self.slots < 0:
            raise ValueError(f"slots must be a non-negative integer (got {self.slots!r})")


def ocr_line(ticket: TicketData) -> str:
    """The 18 digits of the OCR line: ticket type (1) + dose number (1) + municipality code (6) + ticket
    number (10). The same digits are encoded in the QR code and the Codabar barcode."""
    line = f"{ticket.ticket_type}{ticket.dose_number}{ticket.municipality_code}{ticket.ticket_number}"
    if len(line) != 18 or not line.isascii() or not line.isdigit():  # TicketData validated; belt and braces
        raise ValueError(f"OCR line must be 18 digits (got {line!r})")
    return line
