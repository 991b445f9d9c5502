"""Building clinic CSV files for the engine's tests and the benchmark: rows by column name, files in any
encoding, line ending and BOM, and the raw byte oddities (UTF-16, NUL, mixed encodings) clinics send."""

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from imports.csvformat import CSV_COLUMNS
from records.models import Resident
from records.rules.age import legal_age

VACCINATED_ON = date(2025, 11, 10)
BILLING_MONTH = date(2025, 11, 1)
CLINIC_CODE = "1100000001"
VACCINE_CODE = "FLU01"


def row(
    resident: Resident | None = None,
    *,
    my_number: str = "",
    clinic_code: str = CLINIC_CODE,
    vaccinated_on: date = VACCINATED_ON,
    **overrides: str,
) -> dict[str, str]:
    """A valid row (cells by column name) for ``resident`` vaccinated on ``vaccinated_on``; any cell can be
    overridden by its Japanese column name: ``row(r, 備考1="=1+1")`` or ``row(r, **{"LOT-NO": "x"})``."""
    cells = dict.fromkeys(CSV_COLUMNS, "")
    if resident is not None:
        cells.update({
            "宛名番号": resident.address_number, "氏名カナ": resident.name_kana,
            "生年月日": resident.birth_date.isoformat(), "性別": str(resident.sex),
            "接種時年齢": str(legal_age(resident.birth_date, vaccinated_on)) if vaccinated_on >= resident.birth_date
            else "0",
        })
    cells.update({
        "個人番号": my_number, "接種日": vaccinated_on.isoformat(), "接種場所": clinic_code,
        "請求年月": f"{BILLING_MONTH:%Y-%m}", "診察区分": "1", "LOT-NO": "AB12-345", "ワクチン": VACCINE_CODE,
        "転入前接種": "0", "予診医師名": "予診 一郎", "接種医師名": "接種 次郎", "公費自費区分": "1",
        "委託料": "3520", "接種量": "0.50",
    })
    unknown = set(overrides) - set(CSV_COLUMNS)
    if unknown:
        raise KeyError(f"not a column: {sorted(unknown)}")
    cells.update(overrides)
    return cells


def cells_of(record: Mapping[str, str] | Sequence[str]) -> list[str]:
    if isinstance(record, Mapping):
        return [record[name] for name in CSV_COLUMNS]
    return list(record)


def csv_text(
    rows: Sequence[Mapping[str, str] | Sequence[str]],
    *,
    header: Sequence[str] | None = CSV_COLUMNS,
    newline: str = "\r\n",
) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    if header is not None:
        writer.writerow(header)
    for record in rows:
        writer.writerow(cells_of(record))
    return buffer.getvalue()


def csv_bytes(
    rows: Sequence[Mapping[str, str] | Sequence[str]],
    *,
    encoding: str = "utf-8",
    bom: bool = False,
    **options: Any,
) -> bytes:
    data = csv_text(rows, **options).encode(encoding)
    return b"\xef\xbb\xbf" + data if bom else data
