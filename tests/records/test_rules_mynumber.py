import random

import pytest

from records.rules.mynumber import (
    MyNumberError,
    check_digit,
    generate_my_number,
    mask_my_number,
    normalize_my_number,
)


def test_spec_example_check_digit():
    assert check_digit("12345678901") == 8
    assert normalize_my_number("123456789018") == "123456789018"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("00000000000", 0),  # r = 0 -> 0
        ("00000000001", 9),  # n=1: Q=2 -> r=2 -> 9
        ("00000100000", 4),  # n=6: Q=7 -> r=7 -> 4
        ("10000000000", 5),  # n=11: Q=6 -> r=6 -> 5
    ],
)
def test_weights_follow_the_ordinance(body, expected):
    assert check_digit(body) == expected


def test_weight_of_seventh_digit_from_the_right_is_one_not_eight():
    # n = 7 -> Q = 2 ... the switch at n = 7 must use n - 5, not n + 1.
    body = "00001000000"  # digit 1 at n = 7 -> Q(7) = 2 -> r = 2 -> check 9
    assert check_digit(body) == 9


def test_remainder_one_gives_zero():
    # n=1 digit 6 -> 6*2 = 12 -> r = 1 -> check digit 0 (not 11 - 1 = 10)
    assert check_digit("00000000006") == 0


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("123456789017", "my_number_check_digit"),
        ("12345678901", "my_number_length"),
        ("1234567890180", "my_number_length"),
        ("12345678901a", "my_number_not_digits"),
        ("", "my_number_empty"),
        ("１２３４５６７８９０１７", "my_number_check_digit"),
    ],
)
def test_invalid_numbers_are_rejected_with_a_code(raw, code):
    with pytest.raises(MyNumberError) as excinfo:
        normalize_my_number(raw)
    assert excinfo.value.code == code
    assert raw == "" or raw not in excinfo.value.message


def test_full_width_digits_and_separators_are_accepted():
    assert normalize_my_number("１２３４５６７８９０１８") == "123456789018"
    assert normalize_my_number("1234 5678 9018") == "123456789018"
    assert normalize_my_number("1234-5678-9018") == "123456789018"


def test_generated_numbers_are_valid_and_varied():
    rng = random.Random(1)
    numbers = {generate_my_number(rng) for _ in range(500)}
    assert len(numbers) == 500
    assert all(normalize_my_number(n) == n for n in numbers)


def test_mask_keeps_only_last_four():
    assert mask_my_number("123456789018") == "********9018"
