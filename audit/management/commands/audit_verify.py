"""Walk the audit hash chain and name the first broken entry. Exit status 1 when the chain is broken."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.services import audit_chain_verify_record


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; records the result in the log itself."

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_chain_verify_record()
        if not report.ok:
            raise CommandError(
                f"Audit chain BROKEN at seq {report.first_broken_seq} after {report.checked} good entries: "
                f"{report.reason}"
            )
        self.stdout.write(f"Audit chain OK: {report.checked} entries verified.")
