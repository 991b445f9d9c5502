"""From bytes to CSV records: encoding detection (UTF-8 with or without BOM, else CP932; never plain
shift_jis, which lacks ①, ㈱ and 髙) and the record reader. Refusals are ImportRefused with a code and a
Japanese message that says what to do; none quotes the file's content."""

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from imports.services.errors import ImportRefused

ENCODING_UTF8 = "utf-8"
ENCODING_UTF8_BOM = "utf-8-sig"
ENCODING_CP932 = "cp932"

_SAVE_AS = "UTF-8かShift_JIS（CP932）で保存し直してください。"
# Byte-order marks of UTF-16 and UTF-32 (UTF-32-LE starts like UTF-16-LE; both are refused alike).
_WIDE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@dataclass(frozen=True)
class DecodedFile:
    encoding: str
    text: str


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _looks_utf16(data: bytes) -> bool:
    """Text in UTF-16 without a BOM: ASCII characters leave a NUL in every other byte."""
    sample = data[:4096]
    if len(sample) < 4:
        return False
    even, odd = sample[0::2], sample[1::2]
    return max(even.count(0) / len(even), odd.count(0) / len(odd)) > 0.3


def decode_csv_bytes(data: bytes) -> DecodedFile:
    """Detect the encoding and decode. Raises ImportRefused (codes ``encoding_utf16``, ``nul_bytes``,
    ``encoding_bom_mismatch``, ``encoding_mixed``, ``encoding_unknown``)."""
    if data.startswith(_WIDE_BOMS) or (b"\x00" in data and _looks_utf16(data)):
        raise ImportRefused(
            "ファイルがUTF-16（Unicode）で保存されています。" + _SAVE_AS
            + "（Excelでは「CSV UTF-8（コンマ区切り）」を選んでください。）",
            code="encoding_utf16",
        )
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ImportRefused(
            f"ファイルの{_line_of(data, nul)}行目にNUL文字（0x00）が含まれています。CSVではないファイルか、"
            "壊れたファイルの可能性があります。" + _SAVE_AS,
            code="nul_bytes",
        )
    if data.startswith(codecs.BOM_UTF8):
        try:
            return DecodedFile(ENCODING_UTF8_BOM, data[len(codecs.BOM_UTF8):].decode(ENCODING_UTF8))
        except UnicodeDecodeError as exc:
            raise ImportRefused(
                f"ファイルの先頭にUTF-8の印（BOM）がありますが、{_line_of(data, exc.start + 3)}行目がUTF-8では"
                "ありません（Shift_JISの内容にBOMが付いています）。1つの文字コードで保存し直してください。",
                code="encoding_bom_mismatch",
            ) from None
    try:
        return DecodedFile(ENCODING_UTF8, data.decode(ENCODING_UTF8))
    except UnicodeDecodeError:
        pass
    _refuse_if_mixed(data)
    try:
        return DecodedFile(ENCODING_CP932, data.decode(ENCODING_CP932))
    except UnicodeDecodeError as exc:
        raise ImportRefused(
            f"ファイルの{_line_of(data, exc.start)}行目に、UTF-8としてもShift_JIS（CP932）としても読めない文字が"
            "あります。" + _SAVE_AS,
            code="encoding_unknown",
        ) from None


def _refuse_if_mixed(data: bytes) -> None:
    """A file that is not UTF-8 as a whole but has lines that are (non-ASCII, valid UTF-8) mixes two
    encodings: decoding it either way would garble some names, so it is refused. Lines in Shift_JIS
    with Japanese text are practically never valid UTF-8 (their lead bytes 0x81–0x9F are not)."""
    utf8_line = other_line = 0
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode(ENCODING_UTF8)
        except UnicodeDecodeError:
            other_line = other_line or number
        else:
            utf8_line = utf8_line or number
        if utf8_line and other_line:
            raise ImportRefused(
                f"文字コードが混在しています（{utf8_line}行目はUTF-8、{other_line}行目はそれ以外）。"
                "1つの文字コードで保存し直してください。",
                code="encoding_mixed",
            )


class MalformedCsv(Exception):
    def __init__(self, row_number: int) -> None:
        super().__init__(row_number)
        self.row_number = row_number
        self.message = (f"{row_number}行目付近でCSVの形式が壊れています（引用符「\"」の閉じ忘れなど）。"
                        "ファイルを確認してください。")


def csv_records(text: str) -> Iterator[list[str]]:
    """The records of the file, header included, one list of cells each; a quoted field may span lines
    (it stays one record). Raises MalformedCsv with the spreadsheet row number where reading broke."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    number = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error:
            raise MalformedCsv(number + 1) from None
        number += 1
        yield record


def count_records(text: str) -> int:
    """Records after the header, blank lines and rows of empty cells not counted (as processing does).
    Raises MalformedCsv."""
    count = -1
    for record in csv_records(text):
        if count < 0 or any(record):
            count += 1
    return max(count, 0)
