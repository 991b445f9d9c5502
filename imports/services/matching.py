"""Who a row is about: found by 宛名番号 and/or 個人番号 (through the blind index), then confirmed by 氏名カナ,
生年月日 and 性別 — a few queries for a chunk of rows, never one per row. Errors name the fields that
disagree, never what is stored."""

from collections.abc import Sequence

from imports.csvformat import ParsedRow, RowError
from imports.selectors import ResidentIdentity, import_resident_identities
from records.crypto import my_number_blind_index

IDENTITY_MISMATCH = "identity_mismatch"


def match_residents(
    rows: Sequence[tuple[int, ParsedRow]],
) -> tuple[list[tuple[int, int, ParsedRow]], list[tuple[int, RowError]]]:
    """``(row number, resident id, row)`` for the rows whose person is found and agrees, and
    ``(row number, error)`` for the others (one error per row)."""
    indexes = {row.my_number: my_number_blind_index(row.my_number) for _, row in rows if row.my_number}
    identities = import_resident_identities(
        address_numbers={row.address_number for _, row in rows if row.address_number},
        my_number_indexes=set(indexes.values()),
    )
    by_address: dict[str, ResidentIdentity] = {r.address_number: r for r in identities}
    by_index: dict[str, ResidentIdentity] = {r.my_number_index: r for r in identities if r.my_number_index}

    matched: list[tuple[int, int, ParsedRow]] = []
    errors: list[tuple[int, RowError]] = []
    for number, row in rows:
        by_number = by_address.get(row.address_number) if row.address_number else None
        by_my_number = by_index.get(indexes[row.my_number]) if row.my_number else None
        if row.address_number and by_number is None:
            errors.append((number, RowError("宛名番号", "resident_unknown", "宛名番号に該当する宛名がありません。")))
            continue
        if row.my_number and by_my_number is None:
            errors.append((number, RowError("個人番号", "resident_unknown", "個人番号に該当する宛名がありません。")))
            continue
        if by_number is not None and by_my_number is not None and by_number.id != by_my_number.id:
            errors.append((number, RowError("個人番号", "identity_conflict",
                                            "宛名番号と個人番号が別の宛名を指しています。")))
            continue
        resident = by_number or by_my_number
        if resident is None:  # neither given: the row validation has already refused it
            continue
        differing = [
            column for column, same in (
                ("氏名カナ", resident.kana_key == row.kana_key),
                ("生年月日", resident.birth_date == row.birth_date),
                ("性別", resident.sex == row.sex),
            ) if not same
        ]
        if differing:
            message = f"本人確認不一致（{'・'.join(differing)}）"
            errors.append((number, RowError(differing[0], IDENTITY_MISMATCH, message)))
            continue
        matched.append((number, resident.id, row))
    return matched, errors
