"""Errors the import services raise to their callers."""

from typing import Any

from django.core.exceptions import ValidationError


class ImportRefused(ValidationError):
    """A file that is not taken at all (too big, duplicate, unreadable encoding, too many rows): nothing
    is stored as an import. ``code`` says why; ``messages`` holds the Japanese explanation.
    ``existing_import`` is the earlier import when the same bytes were already received."""

    def __init__(self, message: str, *, code: str, existing_import: Any = None) -> None:
        super().__init__(message, code=code)
        self.existing_import = existing_import
