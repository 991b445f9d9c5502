"""Re-encrypt stored My Numbers under the first key of MY_NUMBER_KEYS after a key rotation."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from records.services import my_number_rekey


class Command(BaseCommand):
    help = "Re-encrypt My Numbers under the current (first) key. Safe to interrupt and run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--actor", required=True, help="username of the administrator running it")
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            actor = get_user_model().objects.get(username=options["actor"], is_active=True)
        except get_user_model().DoesNotExist:
            raise CommandError("No active user with that username.") from None
        count = my_number_rekey(actor=actor, batch_size=options["batch_size"])
        self.stdout.write(f"Re-encrypted {count} My Numbers under the current key.")
