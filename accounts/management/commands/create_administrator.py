"""Create the first administrator of an empty installation; afterwards users are made on the desk."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import RequestReference, administrator_bootstrap


class Command(BaseCommand):
    help = "Create the first administrator (refused once an active administrator exists)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--division", required=True, help="requesting division (依頼元所属)")
        parser.add_argument("--reference", required=True, help="request reference number (依頼番号)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            created = administrator_bootstrap(
                username=options["username"],
                request_ref=RequestReference(division=options["division"], reference=options["reference"]),
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"Administrator {created.user.username} created.")
        self.stdout.write(f"Initial password (shown once): {created.initial_password}")
        self.stdout.write("Sign in with it; the first sign-in enrols the authenticator app.")
