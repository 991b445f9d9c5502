"""My Number (個人番号) format and check digit, 番号法施行令 第8条."""

import random
import unicodedata

MY_NUMBER_LENGTH = 12


class MyNumberError(ValueError):
    """A value that is not a valid My Number. The message never repeats the value itself."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_digit(first_eleven: str) -> int:
    """Check digit for the first 11 digits: P(n) is the n-th digit from the right, Q(n) = n + 1 for
    n <= 6 and n - 5 for n >= 7; r = sum(P·Q) mod 11; the digit is 0 when r <= 1, else 11 - r."""
    if len(first_eleven) != MY_NUMBER_LENGTH - 1 or not first_eleven.isascii() or not first_eleven.isdigit():
        raise ValueError("check_digit needs exactly 11 ASCII digits")
    total = 0
    for n, char in enumerate(reversed(first_eleven), start=1):
        q = n + 1 if n <= 6 else n - 5
        total += int(char) * q
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def normalize_my_number(raw: str) -> str:
    """Return the 12 ASCII digits of a My Number, or raise MyNumberError.

    Full-width digits are accepted (NFKC), as are spaces and hyphens between groups as written on
    forms ("1234 5678 9018"); anything else is an error.
    """
    value = unicodedata.normalize("NFKC", raw or "").strip()
    value = value.replace(" ", "").replace("-", "")
    if not value:
        raise MyNumberError("my_number_empty", "個人番号が入力されていません。")
    if not (value.isascii() and value.isdigit()):
        raise MyNumberError("my_number_not_digits", "個人番号は数字12桁で入力してください。")
    if len(value) != MY_NUMBER_LENGTH:
        raise MyNumberError(
            "my_number_length", f"個人番号は12桁です（入力は{len(value)}桁）。"
        )
    if check_digit(value[:11]) != int(value[11]):
        raise MyNumberError("my_number_check_digit", "個人番号の検査用数字が一致しません。")
    return value


def is_valid_my_number(raw: str) -> bool:
    try:
        normalize_my_number(raw)
    except MyNumberError:
        return False
    return True


def generate_my_number(rng: random.Random) -> str:
    """A random, valid, synthetic My Number for demo and test data (never a real person's)."""
    body = f"{rng.randrange(1, 10)}{rng.randrange(0, 10**10):010d}"
    return body + str(check_digit(body))


def mask_my_number(value: str) -> str:
    """Masked for display: only the last four digits stay visible (``********9018``)."""
    return "*" * (MY_NUMBER_LENGTH - 4) + value[-4:]
