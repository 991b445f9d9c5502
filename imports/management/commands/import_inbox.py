"""Take in the clinic CSVs waiting in the inbox folder now (the same work as the monthly scheduled job),
e.g. after the contractor re-sends a file. Exit status 1 when another scan holds the inbox."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from imports.inbox import inbox_dirs, inbox_scan


class Command(BaseCommand):
    help = "Import the clinic CSV files waiting in IMPORT_INBOX_DIR (archived once stored, refused ones to rejected/)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--actor", help="user name recorded as the uploader (default: none, like the job)")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = None
        if options["actor"]:
            try:
                actor = get_user_model().objects.get(username=options["actor"], is_active=True)
            except get_user_model().DoesNotExist:
                raise CommandError(f"No active user named {options['actor']!r}.") from None
        inbox, archive, rejected = inbox_dirs()
        summary = inbox_scan(actor=actor)
        if summary.locked:
            raise CommandError(f"Another scan is working on {inbox}; nothing was done.")
        for outcome in summary.archived:
            self.stdout.write(f"取込 #{outcome.import_id}: {outcome.filename} -> {outcome.moved_to}")
        for outcome in summary.rejected:
            self.stdout.write(self.style.WARNING(f"拒否: {outcome.filename} -> {outcome.moved_to}: {outcome.reason}"))
        self.stdout.write(f"受信フォルダ {inbox}: 取込 {len(summary.archived)} 件、拒否 {len(summary.rejected)} 件"
                          f"（保管先 {archive}、拒否 {rejected}）。")
