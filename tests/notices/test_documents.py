"""Tickets, letters and certificates as PDFs, and the print-vendor CSV: the three marks of a ticket decode
to the same 18 digits (acceptance 4), the PDFs carry the Japanese text put in (acceptance 5), era dates,
"＊" in unconfirmed dose slots, and clear errors for bad input."""

import io
from datetime import date

import pytest
import zxingcpp
from pypdf import PdfReader

from eligibility.documents import (
    DoseLine,
    letters_csv,
    ocr_line,
    render_certificate,
    render_letters,
    render_tickets,
    tickets_csv,
)
from eligibility.documents.codes import codabar_modules, codabar_text
from tests.notices.helpers import certificate, letter, pdf_page_codes, pdf_pages_text, ticket

# Three different tickets in one document: each page must carry its own person's codes, in order.
TICKETS = [
    ticket(),
    ticket(ticket_number="9876543210", ticket_type=2, dose_number=1, name="千間台 三郎",
           name_kana="センゲンダイ サブロウ", address="埼玉県越谷市千間台東一丁目1番地 グリーンハイツ101号",
           birth_date=date(1989, 1, 8)),
    # Markup in the data is text, never markup: the page shows it as typed.
    ticket(ticket_number="0000000001", ticket_type=9, dose_number=0, municipality_code="000000", name="𠮷田 一",
           address="越谷市<b>蒲生</b>&amp;一丁目 <img src=x>",
           name_kana="ヨシダ ハジメ", birth_date=date(2019, 5, 1), period_start=date(2019, 5, 1),
           period_end=date(2019, 12, 31), issued_on=date(2019, 4, 30)),
]
EXPECTED_LINES = ["121122240000012345", "211122249876543210", "900000000000000001"]


@pytest.fixture(scope="module")
def tickets_pdf() -> bytes:
    return render_tickets(TICKETS)


@pytest.fixture(scope="module")
def letters_pdf() -> bytes:
    return render_letters([letter(), letter(name="北越谷 四郎", body="定期接種の対象です。\n＝必ず予約してください＝")])


@pytest.fixture(scope="module")
def certificate_pdf() -> bytes:
    return render_certificate(certificate())


class TestOcrLine:
    def test_layout_type_dose_municipality_ticket_number(self):
        assert ocr_line(ticket()) == "1" + "2" + "112224" + "0000012345"
        assert [ocr_line(t) for t in TICKETS] == EXPECTED_LINES

    def test_leading_zeros_are_kept(self):
        line = ocr_line(ticket(ticket_number="0000000000", ticket_type=0, dose_number=0))
        assert line == "001122240000000000" and len(line) == 18

    @pytest.mark.parametrize(("field", "value", "message"), [
        ("ticket_number", "123456789", "ticket_number must be exactly 10 ASCII digits"),
        ("ticket_number", "12345678901", "ticket_number must be exactly 10 ASCII digits"),
        ("ticket_number", "１２３４５６７８９０", "ticket_number must be exactly 10 ASCII digits"),  # full width
        ("ticket_number", "12345 6789", "ticket_number must be exactly 10 ASCII digits"),
        ("ticket_number", "123456789\n", "ticket_number must be exactly 10 ASCII digits"),
        ("ticket_number", 1234567890, "ticket_number must be exactly 10 ASCII digits"),
        ("ticket_type", 10, "ticket_type must be one digit 0-9"),
        ("ticket_type", -1, "ticket_type must be one digit 0-9"),
        ("ticket_type", "1", "ticket_type must be one digit 0-9"),
        ("ticket_type", True, "ticket_type must be one digit 0-9"),
        ("dose_number", 12, "dose_number must be one digit 0-9"),
        ("municipality_code", "11222", "municipality_code must be exactly 6 ASCII digits"),
        ("municipality_code", "1122245", "municipality_code must be exactly 6 ASCII digits"),
        ("municipality_code", "11222A", "municipality_code must be exactly 6 ASCII digits"),
        ("period_end", date(2026, 3, 31), "period_start 2026-04-01 is after period_end 2026-03-31"),
    ])
    def test_bad_input_is_refused_with_the_field_named(self, field, value, message):
        with pytest.raises(ValueError, match=message):
            ticket(**{field: value})

    def test_bad_certificate_and_letter_input(self):
        with pytest.raises(ValueError, match="slots must be a non-negative integer"):
            certificate(slots=-1)
        with pytest.raises(ValueError, match="period_start 2026-10-01 is after period_end 2026-09-30"):
            letter(period_end=date(2026, 9, 30))

    def test_nothing_to_render_and_wrong_item_types_are_refused(self):
        with pytest.raises(ValueError, match="nothing to render"):
            render_tickets([])
        with pytest.raises(ValueError, match="item 1 is LetterData, expected TicketData"):
            render_tickets([ticket(), letter()])  # type: ignore[list-item]


class TestCodabar:
    def test_start_and_stop_characters_are_a(self):
        assert codabar_text("121122240000012345") == "A121122240000012345A"

    def test_bars_start_and_end_with_quiet_zones(self):
        modules = codabar_modules("121122240000012345")
        assert modules.startswith("0" * 20) and modules.endswith("0" * 20) and "1" in modules

    def test_non_digits_are_refused(self):
        with pytest.raises(ValueError, match="ASCII digits"):
            codabar_text("12A4")


class TestTickets:
    def test_one_a4_page_per_ticket(self, tickets_pdf):
        pages = PdfReader(io.BytesIO(tickets_pdf)).pages
        assert len(pages) == len(TICKETS)
        for page in pages:  # A4 is 595.28 x 841.89 pt
            assert round(float(page.mediabox.width)) == 595 and round(float(page.mediabox.height)) == 842

    def test_ocr_line_qr_and_codabar_decode_to_the_same_18_digits_on_each_page(self, tickets_pdf):
        texts = pdf_pages_text(tickets_pdf)
        for index, expected in enumerate(EXPECTED_LINES):
            codes = pdf_page_codes(tickets_pdf, index)
            assert codes.get(zxingcpp.BarcodeFormat.QRCode) == expected, codes
            # zxing-cpp returns Codabar with its start/stop characters.
            assert codes.get(zxingcpp.BarcodeFormat.Codabar) == f"A{expected}A", codes
            assert expected in texts[index].replace(" ", "")

    def test_japanese_text_and_era_dates_are_in_the_pdf(self, tickets_pdf):
        first, second, third = pdf_pages_text(tickets_pdf)
        for text in ("越谷 太郎", "コシガヤ タロウ", "埼玉県越谷市越ヶ谷四丁目2番1号", "新型コロナワクチン",
                     "令和8年度 新型コロナウイルス感染症予防接種", "〒343-8501", "第2回", "接種券",
                     "昭和25年2月3日", "令和8年4月1日", "令和9年3月31日"):
            assert text in first, text
        assert "千間台 三郎" in second and "グリーンハイツ101号" in second
        assert "平成元年1月8日" in second  # the first day of Heisei is 元年
        assert "𠮷田 一" in third  # a character outside the BMP
        assert "令和元年5月1日" in third and "平成31年4月30日" in third
        assert "越谷市<b>蒲生</b>&amp;一丁目 <img src=x>" in third

    def test_pdf_declares_japanese(self, tickets_pdf):
        root = PdfReader(io.BytesIO(tickets_pdf)).trailer["/Root"]
        assert root.get("/Lang") == "ja"


class TestLetters:
    def test_each_letter_on_its_own_page_with_its_text(self, letters_pdf):
        first, second = pdf_pages_text(letters_pdf)
        for text in ("蒲生 花子", "〒343-0023", "埼玉県越谷市東越谷十丁目31番地",
                     "高齢者インフルエンザ予防接種のお知らせ", "インフルエンザHAワクチン", "令和8年10月1日",
                     "令和9年1月31日", "令和8年9月1日"):
            assert text in first, text
        assert "北越谷 四郎" in second
        assert "定期接種の対象です。" in second and "＝必ず予約してください＝" in second
        assert "北越谷" not in first and "蒲生" not in second


class TestCertificate:
    def test_doses_are_listed_with_date_vaccine_lot_and_clinic(self, certificate_pdf):
        [text] = pdf_pages_text(certificate_pdf)
        for value in ("予防接種済証", "大袋 次郎", "オオブクロ ジロウ", "令和元年5月1日", "〒343-0025",
                      "四種混合ワクチン", "令和7年5月1日", "LOT-A1", "越谷こどもクリニック", "令和7年6月12日",
                      "LOT-B2", "せんげん台医院", "令和8年4月1日", "越谷市長"):
            assert value in text, value

    def test_unconfirmed_slots_are_struck_through_with_stars(self, certificate_pdf):
        [text] = pdf_pages_text(certificate_pdf)
        rows = [line for line in text.splitlines() if line.replace(" ", "").startswith("＊")]
        # 4 slots, 2 doses: two rows of "＊" in every column (回 + 4 cells of "＊＊＊").
        assert len(rows) == 2, text
        assert all(row.replace(" ", "") == "＊" + "＊＊＊" * 4 for row in rows), rows

    def test_no_stars_when_every_slot_is_filled_and_extra_doses_are_never_dropped(self):
        doses = [DoseLine(n, date(2025, n, 1), "ワクチン", f"L{n}", "医院") for n in range(1, 4)]
        [text] = pdf_pages_text(render_certificate(certificate(doses=doses, slots=2)))
        assert "＊＊＊" not in text
        assert all(f"L{n}" in text for n in range(1, 4))


class TestVendorCsv:
    def test_tickets_csv_has_the_same_data_as_the_pdf(self):
        raw = tickets_csv(TICKETS)
        assert raw.startswith("\ufeff".encode())
        lines = raw.decode("utf-8-sig").split("\r\n")
        assert lines[0].startswith("券番号,券種別,接種回,市区町村コード,OCR,氏名")
        assert lines[1].startswith("0000012345,1,2,112224,121122240000012345,越谷 太郎,コシガヤ タロウ,3438501,")
        assert "昭和25年2月3日,1950-02-03" in lines[1] and "令和8年4月1日,令和9年3月31日" in lines[1]
        assert len([line for line in lines if line]) == 1 + len(TICKETS)

    def test_csv_cells_are_formula_safe(self):
        evil = ticket(name="=HYPERLINK(\"http://x\")", address="+1-2")
        text = tickets_csv([evil]).decode("utf-8-sig")
        assert "'=HYPERLINK" in text and ",'+1-2," in text
        text = letters_csv([letter(body="@SUM(A1)")]).decode("utf-8-sig")
        assert "'@SUM(A1)" in text

    def test_letters_csv(self):
        lines = letters_csv([letter()]).decode("utf-8-sig").split("\r\n")
        assert lines[0] == "氏名,郵便番号,住所,事業名,ワクチン,接種期間開始,接種期間終了,発行日,本文"
        assert lines[1] == ("蒲生 花子,343-0023,埼玉県越谷市東越谷十丁目31番地,高齢者インフルエンザ予防接種,"
                            "インフルエンザHAワクチン,令和8年10月1日,令和9年1月31日,令和8年9月1日,")
