"""Register our public keys (settings.LINKAGE_PRIVATE_KEYS) with the intermediate server: step 2 of a key
rotation (docs/linkage.md). Registering a key already known is harmless."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from linkage.client import IntermediateServerClient, LinkageError
from linkage.keys import our_public_keys


class Command(BaseCommand):
    help = "Register our linkage public keys with the intermediate server."

    def handle(self, *args: Any, **options: Any) -> None:
        with IntermediateServerClient.from_settings() as client:
            for public_key in our_public_keys():
                try:
                    key_id = client.key_register(public_key=public_key)
                except LinkageError as exc:
                    raise CommandError(f"registration failed: {exc.code}") from None
                self.stdout.write(f"registered key {key_id}")
