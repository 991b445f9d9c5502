"""The auditors' CSV of provision records (情報提供等の記録). The file is recorded as an EXPORT_MADE event
(持ち出し履歴) and the residents it names get read-access entries, like any screen showing them."""

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from audit.events import AuditEvent
from audit.services import audit_access_record, audit_event_record
from koshigaya_vax.csvexport import csv_bytes
from linkage import permissions, selectors
from linkage.rules import BUSINESS_LABELS, ITEM_LABELS
from records.models import Resident

CSV_EXPORT_LIMIT = 50_000
HEADER = ["記録番号", "区分", "情報照会者コード", "情報照会者", "情報提供者コード", "情報提供者", "事務",
          "特定個人情報の項目", "団体内宛名番号", "提供許可証番号", "照会日時", "完了日時", "結果", "詳細", "職員"]


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
         r.staff.get_username() if r.staff is not None else "自動"]
        for r in records
    ]
    content = csv_bytes(HEADER, rows)
    audit_event_record(event=AuditEvent.EXPORT_MADE, actor=actor,
                       data={"what": "provision_records", "format": "csv", "filters": criteria.as_query(),
                             "rows": len(rows)})
    resident_ids = {r.resident_id for r in records if r.resident_id is not None}
    audit_access_record(actor=actor, objects=list(Resident.objects.filter(pk__in=resident_ids).order_by("pk")),
                        view="linkage:record_export_csv", permission=permissions.EXPORT_PROVISION_RECORDS)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    return ExportFile(content=content, filename=f"provision-records-{stamp}.csv", rows=len(rows))
