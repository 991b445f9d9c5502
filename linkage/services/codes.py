"""Acquiring information-provision codes (情報提供用個人識別符号, 符号) for residents who have none. The
server is asked with our internal 宛名番号 only; the code it issues is the key of every later exchange
about the person ("情報連携においてのみ情報提供用個人識別符号を用いる")."""

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from audit.context import acting_as
from audit.events import AuditEvent
from audit.services import audit_event_record
from linkage.client import IntermediateServerClient, LinkageError, LinkageUnavailable
from linkage.services.common import linkage_client
from records.models import Resident


def _idempotency_key(resident: Resident) -> str:
    return f"code-{settings.LINKAGE_BODY_CODE}-{resident.address_number}"


def provision_code_acquire(*, actor: Any, resident: Resident,
                           client: IntermediateServerClient | None = None) -> str:
    """The resident's code, asking the server for it when the resident has none. Raises LinkageError
    when the server cannot be reached or refuses; nothing is stored then."""
    if resident.information_provision_code:
        return resident.information_provision_code
    own = client is None
    client = client or linkage_client()
    try:
        code = client.code_issue(address_number=resident.address_number, idempotency_key=_idempotency_key(resident))
    finally:
        if own:
            client.close()
    with transaction.atomic():
        locked = Resident.objects.select_for_update().get(pk=resident.pk)
        if not locked.information_provision_code:
            locked.information_provision_code = code
            locked.full_clean(exclude=["my_number_index"])
            with acting_as(actor):
                locked.save(update_fields=["information_provision_code", "updated_at"])
            audit_event_record(event=AuditEvent.LINKAGE_CODE_ACQUIRED, actor=actor, target=locked,
                               data={"address_number": locked.address_number})
    resident.information_provision_code = locked.information_provision_code
    return str(locked.information_provision_code)


@dataclass
class CodeBatchSummary:
    acquired: int = 0
    failed: int = 0
    stopped: str = ""  # the failure that ended the run early (the server is unavailable)
    failures: list[str] = field(default_factory=list)  # 宛名番号 whose code was refused

    def as_dict(self) -> dict[str, Any]:
        return {"acquired": self.acquired, "failed": self.failed, "stopped": self.stopped}


def provision_code_acquire_missing(*, actor: Any, limit: int | None = None,
                                   client: IntermediateServerClient | None = None) -> CodeBatchSummary:
    """Codes for every resident without one, oldest first, each in its own transaction (a run that
    stops can simply be started again). Stops at the first unavailability of the server."""
    summary = CodeBatchSummary()
    ids = (Resident.objects.filter(Q(information_provision_code__isnull=True) | Q(information_provision_code=""))
           .order_by("pk").values_list("pk", flat=True))
    if limit is not None:
        ids = ids[:limit]
    own = client is None
    client = client or linkage_client()
    try:
        for pk in list(ids):
            resident = Resident.objects.get(pk=pk)
            try:
                provision_code_acquire(actor=actor, resident=resident, client=client)
            except LinkageUnavailable as exc:
                summary.stopped = exc.code
                break
            except LinkageError:
                summary.failed += 1
                summary.failures.append(resident.address_number)
            else:
                summary.acquired += 1
    finally:
        if own:
            client.close()
    return summary
