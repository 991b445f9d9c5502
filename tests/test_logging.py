import logging

from koshigaya_vax.logging import RedactMyNumberFilter, redact


def test_twelve_digit_runs_are_redacted():
    assert redact("lookup 123456789018 failed") == "lookup [redacted] failed"
    assert redact("1234 5678 9018") == "[redacted]"
    assert redact("１２３４５６７８９０１８") == "[redacted]"
    assert redact("order 1234567890123") == "order 1234567890123"  # 13 digits is not a My Number
    assert redact("clinic 1100000001") == "clinic 1100000001"


def test_filter_rewrites_message_and_exception_text():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "number %s", ("123456789018",), None)
    try:
        raise ValueError("bad 123456789018")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    RedactMyNumberFilter().filter(record)
    text = logging.Formatter().format(record)
    assert "123456789018" not in text
    assert "[redacted]" in text
