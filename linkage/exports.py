"""The auditors' CSV of provision records (情報提供等の記録). The file is recorded as an EXPORT_MADE event
(持ち出し履歴) and the residents it names get read-access entries, like any screen showing them."""

from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audit.events import AuditEvent
from audit.services import audit_access_record, audit_event_record
from koshigaya_vax.csvexport import csv_bytes
from linkage import permissions, selectors
from linkage.rules import BUSINESS_LABELS, ITEM_LABELS
from records.models import Resident

CSV_EXPORT_LIMIT = 50_000
HEADER = [_("記録番号"), _("区分"), _("情報照会者コード"), _("情報照会者"), _("情報提供者コード"), _("情報提供者"),
          _("事務"), _("特定個人情報の項目"), _("団体内宛名番号"), _("提供許可証番号"), _("照会日時"), _("完了日時"),
          _("結果"), _("詳細"), _("職員")]


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    filename: str
    rows: int


def provision_record_export_csv(*, actor: Any, criteria: selectors.ProvisionRecordCriteria) -> ExportFile:
    if not permissions.can_export_provision_records(actor):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied
    records = list(selectors.provision_record_search(actor=actor, criteria=criteria)[:CSV_EXPORT_LIMIT])
    rows = [
        [r.pk, r.get_direction_display(), r.requester_code, r.requester_name, r.provider_code, r.provider_name,
         BUSINESS_LABELS.get(r.business, r.business), ITEM_LABELS.get(r.item, r.item), r.address_number, r.permit_id,
         timezone.localtime(r.requested_at).isoformat(timespec="seconds"),
         timezone.localtime(r.completed_at).isoformat(timespec="seconds"), r.get_outcome_display(), r.detail,
         r.staff.get_username() if r.staff is not None else gettext("自動")]
        for r in records
    ]
    content = csv_bytes([str(h) for h in HEADER], rows)
    audit_event_record(event=AuditEvent.EXPORT_MADE, actor=actor,
                       data={"what": "provision_records", "format": "csv", "filters": criteria.as_query(),
                             "rows": len(rows)})
    resident_ids = {r.resident_id for r in records if r.resident_id is not None}
    audit_access_record(actor=actor, objects=list(Resident.objects.filter(pk__in=resident_ids).order_by("pk")),
                        view="linkage:record_export_csv", permission=permissions.EXPORT_PROVISION_RECORDS)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    return ExportFile(content=content, filename=f"provision-records-{stamp}.csv", rows=len(rows))
