"""Disclosure, correction and suspension-of-use requests (開示・訂正・利用停止請求, seed V 1).

Each is received on its own reception ticket, with the identity document seen (its type only). The
correction is applied through records.services (so the record's field diff is audited as any other
correction) in the same transaction as the decision; a granted suspension sets Resident.use_suspended,
which only these services set and clear.
"""

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.context import acting_as
from audit.events import AuditEvent
from audit.services import audit_event_record
from records.models import Resident, VaccinationRecord
from records.services import vaccination_record_delete, vaccination_record_update
from rights.models import (
    CorrectionRequest,
    CorrectionStatus,
    DisclosureRequest,
    IdentityDocument,
    RequesterRelation,
    SuspensionRequest,
    SuspensionStatus,
    TicketKind,
)
from rights.permissions import (
    ADD_CORRECTION,
    ADD_DISCLOSURE,
    ADD_SUSPENSION,
    CHANGE_CORRECTION,
    CHANGE_SUSPENSION,
)
from rights.services._common import clean_text, require, ticket_close
from rights.services.tickets import ticket_build


def _identity(identity_document: str, identity_note: str) -> tuple[str, str]:
    if identity_document not in IdentityDocument.values:
        raise ValidationError({"identity_document": _("本人確認書類の種類を選択してください。")}, code="identity")
    return identity_document, clean_text(identity_note, field="identity_note", required=False, max_length=200)


def _receive(
    *,
    actor: Any,
    kind: TicketKind,
    resident: Resident,
    channel: str,
    received_on: date,
    requester_name: str,
    requester_relation: str,
    subject: str,
    identity_document: str,
    identity_note: str,
) -> dict[str, Any]:
    """Save the ticket of a request; returns the request's common fields."""
    document, note = _identity(identity_document, identity_note)
    ticket = ticket_build(
        actor=actor, kind=kind, channel=channel, received_on=received_on, requester_name=requester_name,
        requester_relation=requester_relation, subject=subject, resident=resident,
    )
    with acting_as(actor):
        ticket.save()
    return {"ticket": ticket, "resident": resident, "identity_document": document, "identity_note": note}


def _save(actor: Any, obj: Any) -> None:
    obj.full_clean()
    with acting_as(actor):
        obj.save()


@transaction.atomic
def disclosure_request_register(
    *,
    actor: Any,
    resident: Resident,
    channel: str,
    received_on: date,
    requester_name: str,
    identity_document: str,
    identity_note: str = "",
    requester_relation: str = RequesterRelation.SELF,
    subject: str = "",
) -> DisclosureRequest:
    require(actor.has_perm(ADD_DISCLOSURE))
    common = _receive(
        actor=actor, kind=TicketKind.DISCLOSURE, resident=resident, channel=channel, received_on=received_on,
        requester_name=requester_name, requester_relation=requester_relation,
        subject=subject or _("保有個人情報（予防接種記録）の開示"), identity_document=identity_document,
        identity_note=identity_note,
    )
    request = DisclosureRequest(**common)
    _save(actor, request)
    audit_event_record(event=AuditEvent.RIGHTS_DISCLOSURE_REGISTERED, actor=actor, target=resident,
                       data={"request": request.pk, "ticket": request.ticket_id, "identity": request.identity_document})
    return request


@transaction.atomic
def correction_request_register(
    *,
    actor: Any,
    resident: Resident,
    channel: str,
    received_on: date,
    requester_name: str,
    identity_document: str,
    requested_change: str,
    record: VaccinationRecord | None = None,
    identity_note: str = "",
    requester_relation: str = RequesterRelation.SELF,
) -> CorrectionRequest:
    require(actor.has_perm(ADD_CORRECTION))
    if record is not None and record.resident_id != resident.pk:
        raise ValidationError({"record": _("この接種記録は対象者のものではありません。")}, code="record_resident")
    requested_change = clean_text(requested_change, field="requested_change")
    common = _receive(
        actor=actor, kind=TicketKind.CORRECTION, resident=resident, channel=channel, received_on=received_on,
        requester_name=requester_name, requester_relation=requester_relation, subject=requested_change,
        identity_document=identity_document, identity_note=identity_note,
    )
    request = CorrectionRequest(**common, record=record, record_ref=record.pk if record else None,
                                requested_change=requested_change)
    _save(actor, request)
    audit_event_record(event=AuditEvent.RIGHTS_CORRECTION_REGISTERED, actor=actor, target=resident,
                       data={"request": request.pk, "ticket": request.ticket_id, "record": request.record_ref})
    return request


def _open_correction(request: CorrectionRequest) -> CorrectionRequest:
    locked = CorrectionRequest.objects.select_for_update().select_related("ticket").get(pk=request.pk)
    if locked.status != CorrectionStatus.RECEIVED:
        raise ValidationError({"__all__": _("この訂正請求は既に決定済みです。")}, code="decided")
    return locked


def _decide_correction(*, actor: Any, request: CorrectionRequest, status: str, reason: str, applied: str) -> None:
    request.status = status
    request.decision_reason = reason
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.applied_change = applied
    _save(actor, request)
    with acting_as(actor):
        ticket_close(actor=actor, ticket=request.ticket, answer=f"{request.get_status_display()}: {reason}")
    audit_event_record(
        event=AuditEvent.RIGHTS_CORRECTION_DECIDED, actor=actor, target=request.resident or request,
        data={"request": request.pk, "ticket": request.ticket_id, "decision": status, "record": request.record_ref,
              "applied": applied},
    )


@transaction.atomic
def correction_request_apply(
    *, actor: Any, request: CorrectionRequest, data: dict[str, Any], reason: str
) -> CorrectionRequest:
    """Accept the request and correct its vaccination record with ``data`` (the record form's items)
    through records.services.vaccination_record_update; only the items that differ are written."""
    require(actor.has_perm(CHANGE_CORRECTION))
    request = _open_correction(request)
    reason = clean_text(reason, field="decision_reason")
    if request.record is None:
        raise ValidationError({"__all__": _("訂正する接種記録がありません。")}, code="no_record")
    record = request.record
    changed = {name: value for name, value in data.items() if getattr(record, name) != value}
    if not changed:
        message = _("変更された項目がありません。訂正しない場合は「訂正しない」を選んでください。")
        raise ValidationError({"__all__": message}, code="unchanged")
    for name, value in changed.items():
        if isinstance(value, str):
            clean_text(value, field=name, required=False, max_length=200)
    vaccination_record_update(actor=actor, record=record, data=changed)
    labels = [str(getattr(VaccinationRecord._meta.get_field(name), "verbose_name", name)) for name in changed]
    _decide_correction(actor=actor, request=request, status=CorrectionStatus.ACCEPTED, reason=reason,
                       applied=_("訂正: %(fields)s") % {"fields": "、".join(labels)})
    return request


@transaction.atomic
def correction_request_apply_delete(*, actor: Any, request: CorrectionRequest, reason: str) -> CorrectionRequest:
    """Accept the request by deleting its vaccination record (registered for the wrong person, or a
    vaccination that never happened), through records.services.vaccination_record_delete."""
    require(actor.has_perm(CHANGE_CORRECTION))
    request = _open_correction(request)
    reason = clean_text(reason, field="decision_reason")
    if request.record is None:
        raise ValidationError({"__all__": _("削除する接種記録がありません。")}, code="no_record")
    vaccination_record_delete(actor=actor, record=request.record,
                              reason=_("訂正請求 %(number)s: %(reason)s") % {"number": request.ticket.number,
                                                                        "reason": reason})
    request.record = None  # the database set it to NULL with the deletion
    _decide_correction(actor=actor, request=request, status=CorrectionStatus.ACCEPTED, reason=reason,
                       applied=_("接種記録 #%(pk)s を削除") % {"pk": request.record_ref})
    return request


@transaction.atomic
def correction_request_reject(*, actor: Any, request: CorrectionRequest, reason: str) -> CorrectionRequest:
    require(actor.has_perm(CHANGE_CORRECTION))
    request = _open_correction(request)
    reason = clean_text(reason, field="decision_reason")
    _decide_correction(actor=actor, request=request, status=CorrectionStatus.REJECTED, reason=reason, applied="")
    return request


@transaction.atomic
def suspension_request_register(
    *,
    actor: Any,
    resident: Resident,
    channel: str,
    received_on: date,
    requester_name: str,
    identity_document: str,
    grounds: str,
    identity_note: str = "",
    requester_relation: str = RequesterRelation.SELF,
) -> SuspensionRequest:
    require(actor.has_perm(ADD_SUSPENSION))
    grounds = clean_text(grounds, field="grounds")
    common = _receive(
        actor=actor, kind=TicketKind.SUSPENSION, resident=resident, channel=channel, received_on=received_on,
        requester_name=requester_name, requester_relation=requester_relation, subject=grounds,
        identity_document=identity_document, identity_note=identity_note,
    )
    request = SuspensionRequest(**common, grounds=grounds)
    _save(actor, request)
    audit_event_record(event=AuditEvent.RIGHTS_SUSPENSION_REGISTERED, actor=actor, target=resident,
                       data={"request": request.pk, "ticket": request.ticket_id})
    return request


def _set_use_suspended(*, actor: Any, resident_id: int) -> bool:
    """Make Resident.use_suspended say whether any suspension of the person is granted now; the field
    diff is audited. Returns the new value."""
    resident = Resident.objects.select_for_update().get(pk=resident_id)
    wanted = SuspensionRequest.objects.filter(resident_id=resident_id, status=SuspensionStatus.GRANTED).exists()
    if resident.use_suspended != wanted:
        resident.use_suspended = wanted
        with acting_as(actor):
            resident.save(update_fields=["use_suspended", "updated_at"])
    return wanted


@transaction.atomic
def suspension_request_decide(*, actor: Any, request: SuspensionRequest, grant: bool, reason: str) -> SuspensionRequest:
    """Grant (the person's records leave extraction, notices and automatic provision at once) or refuse."""
    require(actor.has_perm(CHANGE_SUSPENSION))
    request = SuspensionRequest.objects.select_for_update().select_related("ticket").get(pk=request.pk)
    if request.status != SuspensionStatus.RECEIVED:
        raise ValidationError({"__all__": _("この利用停止請求は既に決定済みです。")}, code="decided")
    if request.resident_id is None:
        raise ValidationError({"__all__": _("対象者の宛名がありません。")}, code="no_resident")
    request.status = SuspensionStatus.GRANTED if grant else SuspensionStatus.REJECTED
    request.decision_reason = clean_text(reason, field="decision_reason")
    request.decided_by = actor
    request.decided_at = timezone.now()
    _save(actor, request)
    suspended = _set_use_suspended(actor=actor, resident_id=request.resident_id)
    with acting_as(actor):
        ticket_close(actor=actor, ticket=request.ticket,
                     answer=f"{request.get_status_display()}: {request.decision_reason}")
    audit_event_record(event=AuditEvent.RIGHTS_SUSPENSION_DECIDED, actor=actor, target=request.resident,
                       data={"request": request.pk, "ticket": request.ticket_id, "decision": request.status,
                             "use_suspended": suspended})
    return request


@transaction.atomic
def suspension_request_lift(*, actor: Any, request: SuspensionRequest, reason: str) -> SuspensionRequest:
    """End a granted suspension (withdrawn by the person, or its grounds gone). The flag is cleared
    unless another granted suspension of the person stands."""
    require(actor.has_perm(CHANGE_SUSPENSION))
    request = SuspensionRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != SuspensionStatus.GRANTED:
        raise ValidationError({"__all__": _("利用停止中の請求ではありません。")}, code="not_granted")
    request.status = SuspensionStatus.LIFTED
    request.lift_reason = clean_text(reason, field="lift_reason")
    request.lifted_by = actor
    request.lifted_at = timezone.now()
    _save(actor, request)
    suspended = _set_use_suspended(actor=actor, resident_id=request.resident_id) if request.resident_id else False
    audit_event_record(event=AuditEvent.RIGHTS_SUSPENSION_LIFTED, actor=actor, target=request.resident or request,
                       data={"request": request.pk, "ticket": request.ticket_id, "use_suspended": suspended})
    return request

