"""Print-vendor CSV of the same data as the PDFs: one row per ticket or letter, dates as printed (era
form) and in ISO for machines, through ``csv_bytes`` (formula-safe cells, UTF-8 BOM, CRLF)."""

from collections.abc import Sequence

from django.utils.translation import gettext as _

from eligibility.documents.data import LetterData, TicketData, ocr_line
from koshigaya_vax.csvexport import csv_bytes
from records.rules.dates import format_era


def tickets_csv(items: Sequence[TicketData]) -> bytes:
    header = [
        _("券番号"), _("券種別"), _("接種回"), _("市区町村コード"), _("OCR"), _("氏名"), _("氏名カナ"),
        _("郵便番号"), _("住所"), _("生年月日"), _("生年月日（西暦）"), _("ワクチン"), _("事業名"),
        _("接種期間開始"), _("接種期間終了"), _("発行日"),
    ]
    rows = (
        [
            t.ticket_number, t.ticket_type, t.dose_number, t.municipality_code, ocr_line(t), t.name, t.name_kana,
            t.postal_code, t.address, format_era(t.birth_date), t.birth_date.isoformat(), t.vaccine_name,
            t.campaign_name, format_era(t.period_start), format_era(t.period_end), format_era(t.issued_on),
        ]
        for t in items
    )
    return csv_bytes(header, rows)


def letters_csv(items: Sequence[LetterData]) -> bytes:
    header = [
        _("氏名"), _("郵便番号"), _("住所"), _("事業名"), _("ワクチン"), _("接種期間開始"), _("接種期間終了"),
        _("発行日"), _("本文"),
    ]
    rows = (
        [
            letter.name, letter.postal_code, letter.address, letter.campaign_name, letter.vaccine_name,
            format_era(letter.period_start), format_era(letter.period_end), format_era(letter.issued_on),
            letter.body,
        ]
        for letter in items
    )
    return csv_bytes(header, rows)
