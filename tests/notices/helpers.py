"""Synthetic notice data and PDF readers for the notice tests."""

import io
from datetime import date
from typing import Any

import pypdfium2
import zxingcpp
from pypdf import PdfReader

from eligibility.documents import CertificateData, DoseLine, LetterData, TicketData


def ticket(**overrides: Any) -> TicketData:
    data: dict[str, Any] = {
        "ticket_number": "0000012345", "ticket_type": 1, "dose_number": 2, "name": "越谷 太郎",
        "name_kana": "コシガヤ タロウ", "postal_code": "3438501", "address": "埼玉県越谷市越ヶ谷四丁目2番1号",
        "birth_date": date(1950, 2, 3), "vaccine_name": "新型コロナワクチン",
        "campaign_name": "令和8年度 新型コロナウイルス感染症予防接種", "period_start": date(2026, 4, 1),
        "period_end": date(2027, 3, 31), "issued_on": date(2026, 4, 1),
    }
    data.update(overrides)
    return TicketData(**data)


def letter(**overrides: Any) -> LetterData:
    data: dict[str, Any] = {
        "name": "蒲生 花子", "postal_code": "343-0023", "address": "埼玉県越谷市東越谷十丁目31番地",
        "campaign_name": "高齢者インフルエンザ予防接種", "vaccine_name": "インフルエンザHAワクチン",
        "period_start": date(2026, 10, 1), "period_end": date(2027, 1, 31), "issued_on": date(2026, 9, 1),
    }
    data.update(overrides)
    return LetterData(**data)


def certificate(**overrides: Any) -> CertificateData:
    data: dict[str, Any] = {
        "name": "大袋 次郎", "name_kana": "オオブクロ ジロウ", "birth_date": date(2019, 5, 1), "postal_code": "3430025",
        "address": "埼玉県越谷市大沢三丁目", "slots": 4, "issued_on": date(2026, 4, 1),
        "doses": [
            DoseLine(1, date(2025, 5, 1), "四種混合ワクチン", "LOT-A1", "越谷こどもクリニック"),
            DoseLine(2, date(2025, 6, 12), "四種混合ワクチン", "LOT-B2", "せんげん台医院"),
        ],
    }
    data.update(overrides)
    return CertificateData(**data)


def pdf_pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def pdf_page_codes(pdf: bytes, index: int, *, scale: float = 3.0) -> dict[Any, str]:
    """{zxingcpp.BarcodeFormat: text} of the barcodes zxing-cpp finds on page ``index`` rendered at 72*scale dpi."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[index].render(scale=scale).to_pil()
    finally:
        document.close()
    return {result.format: result.text for result in zxingcpp.read_barcodes(image)}
