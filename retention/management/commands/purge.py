"""Retention purge for operators.

``manage.py purge --dry-run [--as-of YYYY-MM-DD] [--class KEY ...]`` lists what each data class would
lose and stores it as a report to approve in the browser (it deletes nothing).
``manage.py purge --run <report id>`` runs (or resumes) an approved report in this process, batch by
batch; a report not yet approved is refused. Exit status 1 on refusal.
"""

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from retention.classes import data_classes
from retention.models import PurgeReport, ReportStatus, ReportTrigger
from retention.selectors import class_label, report_progress
from retention.services import purge_report_create, purge_report_run


class Command(BaseCommand):
    help = "Retention purge: --dry-run stores a report to approve; --run <id> runs an approved report."

    def add_arguments(self, parser: CommandParser) -> None:
        mode = parser.add_mutually_exclusive_group(required=True)
        mode.add_argument("--dry-run", action="store_true", help="list what is due and store it as a report")
        mode.add_argument("--run", type=int, metavar="REPORT_ID", help="run or resume an approved report")
        parser.add_argument("--as-of", type=date.fromisoformat, help="the day to judge by (default: today)")
        parser.add_argument("--class", dest="classes", action="append", metavar="KEY",
                            choices=[c.key for c in data_classes()], help="limit the dry run to these classes")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["dry_run"]:
            as_of = options["as_of"] or timezone.localdate()
            report = purge_report_create(actor=None, as_of=as_of, trigger=ReportTrigger.COMMAND,
                                         keys=options["classes"])
            self.stdout.write(f"消去報告 #{report.pk}（基準日 {as_of.isoformat()}、承認待ち）")
            for item in report.items.order_by("position"):
                span = f"ID {item.first_id}–{item.last_id}" if item.count else "—"
                self.stdout.write(f"  {class_label(item.data_class)} [{item.data_class}]: {item.count} 件 "
                                  f"（保存{item.years}年、起算日 {item.cutoff.isoformat()} より前、{span}）")
            self.stdout.write("画面（保存期間と消去 > 消去報告）で承認すると消去が実行されます。")
            return
        report_id = options["run"]
        found = PurgeReport.objects.filter(pk=report_id).first()
        if found is None:
            raise CommandError(f"消去報告 #{report_id} はありません。")
        if found.status in (ReportStatus.PROPOSED, ReportStatus.REJECTED):
            raise CommandError(f"消去報告 #{report_id} は承認されていません（{found.get_status_display()}）。")
        try:
            report = purge_report_run(report_id=report_id)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        progress = report_progress(report=report)
        self.stdout.write(f"消去報告 #{report.pk}: {report.get_status_display()}（バッチ {progress.batches_done}/"
                          f"{progress.batches_total}、消去 {progress.deleted} 件、除外 {progress.skipped} 件）")
