"""A last line of defence for logs: any run of 12 digits (a possible My Number) is replaced before a
record is written. Code must still never log a My Number; this catches what slips through (exception
texts, third-party messages)."""

import logging
import re

_TWELVE_DIGITS = re.compile(r"(?<!\d)(?:\d[ -]?){11}\d(?!\d)|(?<![０-９])[０-９]{12}(?![０-９])")


def redact(text: str) -> str:
    return _TWELVE_DIGITS.sub("[redacted]", text)


class RedactMyNumberFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(exc_text)
            record.exc_info = None
        return True
