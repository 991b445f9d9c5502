"""The clinic monthly CSV as clinics are given it (SPEC "Clinic monthly CSV"): the column layout, the header
names a file may use, and the validation of one row. Pure: no ORM and no clock — the masters (clinic and
vaccine codes) and today's date come in as values, so every rule can be tested without a database.

Messages are Japanese and never repeat a cell's value: a shifted column can put a My Number anywhere.
"""

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from records.rules.dates import DateParseError, parse_date, parse_year_month
from records.rules.kana import kana_key
from records.rules.mynumber import MyNumberError, normalize_my_number
from records.rules.vaccination import VaccinationFacts, check_vaccination

# The interchange format, in order. These are also the header of the row-error CSV.
CSV_COLUMNS: tuple[str, ...] = (
    "宛名番号", "個人番号", "氏名カナ", "生年月日", "性別", "接種日", "接種場所", "接種時年齢", "請求年月", "診察区分",
    "LOT-NO", "ワクチン", "転入前接種", "予診医師名", "接種医師名", "公費自費区分", "委託料", "接種量",
    "備考1", "備考2", "備考3",
)
COLUMN_COUNT = len(CSV_COLUMNS)
(
    ADDRESS_NUMBER, MY_NUMBER, KANA, BIRTH_DATE, SEX, VACCINATED_ON, PLACE, AGE, BILLING_MONTH, EXAMINATION,
    LOT_NUMBER, VACCINE, BEFORE_MOVE_IN, SCREENING_DOCTOR, VACCINATING_DOCTOR, PAYMENT, FEE, DOSE,
    REMARKS1, REMARKS2, REMARKS3,
) = range(COLUMN_COUNT)

# Other spellings clinics' systems use for the same columns, compared after header_key().
_ALIASES: dict[str, str] = {
    "団体内宛名番号": "宛名番号",
    "マイナンバー": "個人番号",
    "氏名の振り仮名": "氏名カナ", "カナ氏名": "氏名カナ", "フリガナ": "氏名カナ", "氏名フリガナ": "氏名カナ",
    "接種年月日": "接種日",
    "医療機関コード": "接種場所", "接種場所医療機関コード": "接種場所",
    "年齢": "接種時年齢",
    "ロット番号": "LOT-NO", "LOT番号": "LOT-NO", "LOT": "LOT-NO",
    "ワクチンコード": "ワクチン",
    "委託料円": "委託料",
    "接種量ML": "接種量",
}
_HEADER_NOISE = re.compile(r"[\s\-_・･/()]")


def header_key(raw: str) -> str:
    """A header cell made comparable: NFKC (full width to half width), upper case, and no spaces,
    hyphens, middle dots, slashes or brackets (``ＬＯＴ－ＮＯ``, ``Lot No`` and ``氏名（カナ）`` all match)."""
    return _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", raw).upper())


_CANONICAL_KEYS: dict[str, str] = {header_key(name): name for name in CSV_COLUMNS} | {
    header_key(alias): name for alias, name in _ALIASES.items()
}


def header_problem(cells: list[str]) -> str | None:
    """Why ``cells`` is not the format's header row, in Japanese; None when it is. Cell values are never
    quoted (a file without a header has data, maybe a My Number, in its first row)."""
    expected = "、".join(CSV_COLUMNS)
    if len(cells) != COLUMN_COUNT:
        return (f"1行目の見出しが{len(cells)}列です。様式は{COLUMN_COUNT}列です（{expected}）。"
                "区切り文字（カンマ）と列の過不足を確認してください。")
    for position, (cell, name) in enumerate(zip(cells, CSV_COLUMNS, strict=True), start=1):
        if _CANONICAL_KEYS.get(header_key(cell)) != name:
            return (f"1行目の見出しが様式と一致しません（{position}列目は「{name}」のはずです）。"
                    f"様式の見出し: {expected}")
    return None


def is_blank(cells: list[str]) -> bool:
    return all(not cell.strip() for cell in cells)


class RowError(NamedTuple):
    column: str  # the Japanese column name, "" for the row as a whole
    code: str
    message: str


class ParsedRow(NamedTuple):
    """A row that passed every check that needs no database. ``my_number`` is the normalised number
    (only ever hashed into the blind index); ``kana_key`` is records.rules.kana.kana_key of the name."""

    address_number: str
    my_number: str
    kana_key: str
    birth_date: date
    sex: int
    vaccinated_on: date
    clinic_id: int | None
    place_text: str
    age_at_vaccination: int
    billing_month: date
    examination_category: int
    lot_number: str
    vaccine_id: int
    before_move_in: bool
    screening_doctor: str
    vaccinating_doctor: str
    payment_category: int
    fee_yen: int
    dose_ml: Decimal
    remarks1: str
    remarks2: str
    remarks3: str


# Columns of records.rules.vaccination's fields.
_RULE_COLUMNS = {
    "vaccinated_on": CSV_COLUMNS[VACCINATED_ON], "age_at_vaccination": CSV_COLUMNS[AGE],
    "billing_month": CSV_COLUMNS[BILLING_MONTH], "examination_category": CSV_COLUMNS[EXAMINATION],
    "lot_number": CSV_COLUMNS[LOT_NUMBER], "dose_ml": CSV_COLUMNS[DOSE],
    "vaccinating_doctor": CSV_COLUMNS[VACCINATING_DOCTOR], "clinic": CSV_COLUMNS[PLACE],
    "place_text": CSV_COLUMNS[PLACE], "fee_yen": CSV_COLUMNS[FEE],
}

# Matched with fullmatch: "$" would also accept a trailing newline, and \d any script's digits.
_ADDRESS_NUMBER = re.compile(r"[0-9]{1,15}")
_CLINIC_CODE = re.compile(r"[0-9]{10}")
_LOT_NUMBER = re.compile(r"[A-Z0-9][A-Z0-9-]*")
_DOSE = re.compile(r"[0-9]{1,2}(?:\.[0-9]{1,2})?")
_INTEGER = re.compile(r"[0-9]{1,9}")
_NEGATIVE = re.compile(r"-[0-9]+(?:\.[0-9]*)?")
_KATAKANA = re.compile(r"[\u30A0-\u30FF]+")

_MAX_NAME = 50
_MAX_REMARKS = 200
_MAX_PLACE = 200
_MAX_LOT = 20
_MAX_AGE = 150

_BINARY_CODES = {"1": 1, "2": 2}
_FLAGS = {"0": False, "1": True}
_AGES = {str(n): n for n in range(_MAX_AGE + 1)}
# A name already in full-width katakana (the usual case): records.rules.kana.kana_key of it is the name
# without spaces and with small kana made large; anything else goes through kana_key itself.
_PLAIN_KATAKANA = re.compile(r"[\u30A1-\u30FA\u30FC\u3000 ]+")
_SMALL_KANA = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")


def _code(cache: dict[str, Any], raw: str, values: Mapping[str, Any]) -> Any:
    """The value of a code cell after normalisation (full-width digits, spaces), remembered by raw text."""
    value = values.get(_nfkc(raw))
    if value is not None:
        cache[raw] = value
    return value


def _nfkc(text: str) -> str:
    """Stripped, and NFKC only when needed (most cells are ASCII; NFKC is the slow part)."""
    text = text.strip()
    return text if text.isascii() else unicodedata.normalize("NFKC", text).strip()


class _Failed(NamedTuple):
    code: str
    message: str


class RowValidator:
    """Validates rows of one import. Parsed dates, codes and lot numbers are cached per distinct cell
    text: a month's file repeats the same few vaccination dates, lots and fees thousands of times."""

    def __init__(
        self,
        *,
        clinic_code: str,
        clinic_ids: Mapping[str, int],
        vaccine_ids: Mapping[str, int],
        billing_month: date,
        today: date,
    ) -> None:
        self.clinic_code = clinic_code
        self.clinic_ids = clinic_ids
        self.vaccine_ids = vaccine_ids
        self.billing_month = billing_month
        self.today = today
        self.clinic_id = clinic_ids.get(clinic_code)
        self._dates: dict[str, date | _Failed] = {}
        self._months: dict[str, date | _Failed] = {}
        self._lots: dict[str, str | _Failed] = {}
        self._doses: dict[str, Decimal | _Failed] = {}
        self._fees: dict[str, int | _Failed] = {}
        # Code-like cells by their raw text (valid values only; an invalid one is looked at again).
        self._codes: dict[int, dict[str, Any]] = {SEX: {}, AGE: {}, EXAMINATION: {}, VACCINE: {},
                                                  BEFORE_MOVE_IN: {}, PAYMENT: {}}
        # One string object per doctor's name: they repeat thousands of times in a big file.
        self._names: dict[str, str] = {}

    # --- cells -------------------------------------------------------------------------------------
    def _date(self, raw: str) -> date | _Failed:
        value = self._dates.get(raw)
        if value is None:
            try:
                value = parse_date(raw)
            except DateParseError as exc:
                value = _Failed(exc.code, exc.message)
            self._dates[raw] = value
        return value

    def _month(self, raw: str) -> date | _Failed:
        value = self._months.get(raw)
        if value is None:
            try:
                value = parse_year_month(raw)
            except DateParseError as exc:
                value = _Failed(exc.code, exc.message)
            self._months[raw] = value
        return value

    def _lot(self, raw: str) -> str | _Failed:
        value = self._lots.get(raw)
        if value is None:
            text = _nfkc(raw).upper()
            if len(text) > _MAX_LOT:
                value = _Failed("lot_too_long", f"LOT-NOは{_MAX_LOT}文字以内です。")
            elif text and not _LOT_NUMBER.fullmatch(text):
                value = _Failed("lot_invalid", "LOT-NOは英大文字・数字・ハイフンで入力してください。")
            else:
                value = text
            self._lots[raw] = value
        return value

    def _decimal_dose(self, raw: str) -> Decimal | _Failed:
        value = self._doses.get(raw)
        if value is None:
            text = _nfkc(raw)
            if _DOSE.fullmatch(text):
                value = Decimal(text)
            elif _NEGATIVE.fullmatch(text):
                value = _Failed("dose_negative", "接種量は0以上です。")
            elif not text:
                value = _Failed("dose_empty", "接種量を入力してください（予診のみの場合は0）。")
            else:
                value = _Failed("dose_invalid", "接種量はmL単位の数値（小数2桁まで、例: 0.50）で入力してください。")
            self._doses[raw] = value
        return value

    def _fee(self, raw: str) -> int | _Failed:
        value = self._fees.get(raw)
        if value is None:
            text = _nfkc(raw)
            if _INTEGER.fullmatch(text):
                value = int(text)
            elif _NEGATIVE.fullmatch(text):
                value = _Failed("fee_negative", "委託料は0以上の整数です。")
            elif not text:
                value = _Failed("fee_empty", "委託料を入力してください（円、0以上の整数）。")
            else:
                value = _Failed("fee_invalid", "委託料は円単位の0以上の整数で入力してください。")
            self._fees[raw] = value
        return value

    # --- the row -----------------------------------------------------------------------------------
    def validate(self, cells: list[str]) -> tuple[ParsedRow | None, list[RowError]]:
        """The parsed row, or None and every error found (a row is checked as a whole, so the clinic
        sees all its problems at once). Written for speed: a file has up to 200,000 rows."""
        if len(cells) != COLUMN_COUNT:
            return None, [RowError("", "column_count",
                                   f"列数が{len(cells)}列です。様式は{COLUMN_COUNT}列です（列の過不足）。")]
        errors: list[RowError] = []
        add = errors.append
        codes = self._codes

        address_number = cells[ADDRESS_NUMBER]
        if not _ADDRESS_NUMBER.fullmatch(address_number):
            address_number = _nfkc(address_number)
            if address_number and not _ADDRESS_NUMBER.fullmatch(address_number):
                add(RowError("宛名番号", "address_number_invalid", "宛名番号は数字15桁以内です。"))
        my_number = cells[MY_NUMBER]
        if not my_number.strip():
            my_number = ""
        else:
            try:
                my_number = normalize_my_number(my_number)
            except MyNumberError as exc:
                add(RowError("個人番号", exc.code, exc.message))
        if not my_number and not address_number:
            add(RowError("宛名番号", "identity_missing", "宛名番号か個人番号のいずれかを入力してください。"))

        kana = cells[KANA]
        kana = kana.replace(" ", "").replace("\u3000", "").translate(_SMALL_KANA) if _PLAIN_KATAKANA.fullmatch(kana) \
            else kana_key(kana)
        if not kana:
            add(RowError("氏名カナ", "kana_empty", "氏名カナを入力してください。"))
        elif not _KATAKANA.fullmatch(kana):
            add(RowError("氏名カナ", "kana_invalid", "氏名カナはカタカナで入力してください。"))

        birth_date = self._date(cells[BIRTH_DATE])
        if type(birth_date) is _Failed:
            add(RowError("生年月日", birth_date.code, "生年月日: " + birth_date.message))
        vaccinated_on = self._date(cells[VACCINATED_ON])
        if type(vaccinated_on) is _Failed:
            add(RowError("接種日", vaccinated_on.code, "接種日: " + vaccinated_on.message))
        billing_month = self._month(cells[BILLING_MONTH])
        if type(billing_month) is _Failed:
            add(RowError("請求年月", billing_month.code, "請求年月: " + billing_month.message))
        elif billing_month != self.billing_month:
            add(RowError("請求年月", "billing_month_mismatch",
                         f"請求年月がアップロード時の請求年月（{self.billing_month.year}年"
                         f"{self.billing_month.month}月）と一致しません。"))

        sex = codes[SEX].get(cells[SEX]) or _code(codes[SEX], cells[SEX], _BINARY_CODES)
        if sex is None:
            add(RowError("性別", "sex_invalid", "性別は1（男）か2（女）です。"))
        age = codes[AGE].get(cells[AGE])
        if age is None:
            age = _code(codes[AGE], cells[AGE], _AGES)
            if age is None:
                add(RowError("接種時年齢", "age_invalid", "接種時年齢は0以上の整数（歳）で入力してください。"))
        examination = codes[EXAMINATION].get(cells[EXAMINATION]) \
            or _code(codes[EXAMINATION], cells[EXAMINATION], _BINARY_CODES)
        if examination is None:
            add(RowError("診察区分", "category_invalid", "診察区分は1（接種）か2（予診のみ）です。"))
        lot_number = self._lot(cells[LOT_NUMBER])
        if type(lot_number) is _Failed:
            add(RowError("LOT-NO", lot_number.code, lot_number.message))
        vaccine_id = codes[VACCINE].get(cells[VACCINE])
        if vaccine_id is None:
            vaccine_id = self.vaccine_ids.get(_nfkc(cells[VACCINE]).upper())
            if vaccine_id is None:
                add(RowError("ワクチン", "vaccine_unknown", "ワクチンコードが登録されていません。"))
            else:
                codes[VACCINE][cells[VACCINE]] = vaccine_id
        before_move_in = codes[BEFORE_MOVE_IN].get(cells[BEFORE_MOVE_IN])
        if before_move_in is None:
            before_move_in = _code(codes[BEFORE_MOVE_IN], cells[BEFORE_MOVE_IN], _FLAGS)
            if before_move_in is None:
                add(RowError("転入前接種", "before_move_in_invalid", "転入前接種は0（いいえ）か1（はい）です。"))

        place = cells[PLACE]
        if place == self.clinic_code and not before_move_in:
            clinic_id: int | None = self.clinic_id
            place_text = ""
        else:
            clinic_id, place_text = self._place(place, bool(before_move_in), add)

        screening_doctor = cells[SCREENING_DOCTOR].strip()
        if not screening_doctor:
            add(RowError("予診医師名", "screening_doctor_missing", "予診医師名は必須です。"))
        elif len(screening_doctor) > _MAX_NAME:
            add(RowError("予診医師名", "too_long", f"予診医師名は{_MAX_NAME}文字以内です。"))
        vaccinating_doctor = cells[VACCINATING_DOCTOR].strip()
        if len(vaccinating_doctor) > _MAX_NAME:
            add(RowError("接種医師名", "too_long", f"接種医師名は{_MAX_NAME}文字以内です。"))
        payment = codes[PAYMENT].get(cells[PAYMENT]) or _code(codes[PAYMENT], cells[PAYMENT], _BINARY_CODES)
        if payment is None:
            add(RowError("公費自費区分", "payment_invalid", "公費自費区分は1（公費）か2（自費）です。"))
        fee = self._fee(cells[FEE])
        if type(fee) is _Failed:
            add(RowError("委託料", fee.code, fee.message))
        dose = self._decimal_dose(cells[DOSE])
        if type(dose) is _Failed:
            add(RowError("接種量", dose.code, dose.message))
        remarks1, remarks2, remarks3 = cells[REMARKS1].strip(), cells[REMARKS2].strip(), cells[REMARKS3].strip()
        if len(remarks1) > _MAX_REMARKS or len(remarks2) > _MAX_REMARKS or len(remarks3) > _MAX_REMARKS:
            for position, text in enumerate((remarks1, remarks2, remarks3), start=1):
                if len(text) > _MAX_REMARKS:
                    add(RowError(f"備考{position}", "too_long", f"備考{position}は{_MAX_REMARKS}文字以内です。"))

        if not (
            isinstance(birth_date, date) and isinstance(vaccinated_on, date) and isinstance(billing_month, date)
            and age is not None and examination is not None and isinstance(lot_number, str)
            and before_move_in is not None and isinstance(fee, int) and isinstance(dose, Decimal)
        ):
            return None, errors
        facts = VaccinationFacts(
            birth_date=birth_date, vaccinated_on=vaccinated_on, age_at_vaccination=age,
            billing_month=billing_month, examination_category=examination, lot_number=lot_number,
            before_move_in=before_move_in, has_clinic=clinic_id is not None, place_text=place_text,
            vaccinating_doctor=vaccinating_doctor, dose_ml=dose, fee_yen=fee,
        )
        for violation in check_vaccination(facts, today=self.today):
            add(RowError(_RULE_COLUMNS.get(violation.field, ""), violation.code, violation.message))
        if errors or sex is None or payment is None or vaccine_id is None:
            return None, errors
        names = self._names
        return ParsedRow(
            address_number, my_number, kana, birth_date, sex, vaccinated_on, clinic_id, place_text, age,
            billing_month, examination, lot_number, vaccine_id, before_move_in,
            names.setdefault(screening_doctor, screening_doctor),
            names.setdefault(vaccinating_doctor, vaccinating_doctor), payment, fee, dose, remarks1, remarks2, remarks3,
        ), errors

    def _place(self, raw: str, before_move_in: bool, add: Callable[[RowError], None]) -> tuple[int | None, str]:
        """接種場所: this import's clinic code; for a dose given before moving in, any known clinic code
        or the place as free text."""
        text = _nfkc(raw)
        if _CLINIC_CODE.fullmatch(text):
            clinic_id = self.clinic_ids.get(text)
            if clinic_id is None:
                add(RowError("接種場所", "clinic_unknown", "接種場所の医療機関コードが登録されていません。"))
            elif not before_move_in and text != self.clinic_code:
                add(RowError("接種場所", "clinic_other",
                             f"接種場所の医療機関コードがこの取込の医療機関（{self.clinic_code}）と異なります。"))
                clinic_id = None
            return clinic_id, ""
        if before_move_in and text:
            if len(text) > _MAX_PLACE:
                add(RowError("接種場所", "too_long", f"接種場所は{_MAX_PLACE}文字以内です。"))
            return None, text
        if not text:
            add(RowError("接種場所", "clinic_missing", "接種場所（医療機関コード10桁）を入力してください。"))
        else:
            add(RowError("接種場所", "clinic_code_invalid", "接種場所は医療機関コード（数字10桁）で入力してください。"))
        return None, ""
