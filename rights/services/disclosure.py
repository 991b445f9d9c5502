"""The disclosure document (開示文書): a PDF of everything held about a person, and its handover."""

import hashlib
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.context import acting_as
from audit.events import AuditEvent
from audit.services import audit_access_record, audit_event_record
from koshigaya_vax.pdf import pdf_render
from rights.models import DisclosureDocument, DisclosureRequest, DisclosureStatus, HandoverMethod
from rights.permissions import CHANGE_DISCLOSURE
from rights.selectors import disclosure_contents
from rights.services._common import require, ticket_close

DOCUMENT_VIEW = "rights.disclosure_document"


def disclosure_document_generate(*, actor: Any, request: DisclosureRequest) -> tuple[DisclosureDocument, bytes]:
    """Render the disclosure document of ``request``'s person and record its generation.

    The PDF is built first, outside any transaction, so the audit chain's head is never locked while it
    renders; it lists every entry about the person up to that moment (the generation itself, recorded
    right after, appears in the next document). Then, in one transaction: the DisclosureDocument row
    (its SHA-256, what it lists), the RIGHTS_DISCLOSURE_GENERATED event and an access entry for the
    person. If those cannot be written the bytes are not returned. My Number appears masked only.
    """
    require(actor.has_perm(CHANGE_DISCLOSURE))
    request = DisclosureRequest.objects.select_related("ticket", "resident").get(pk=request.pk)
    if request.resident is None:
        raise ValidationError({"__all__": _("対象者の宛名がないため開示文書を作成できません。")}, code="no_resident")
    if request.status == DisclosureStatus.HANDED_OVER:
        raise ValidationError({"__all__": _("交付済みの開示請求です。")}, code="handed_over")
    generated_at = timezone.now()
    contents = disclosure_contents(resident=request.resident)
    pdf = pdf_render(template_name="rights/pdf/disclosure.html", context={
        "contents": contents, "request": request, "ticket": request.ticket, "generated_at": generated_at,
        "generated_by": actor,
    })
    digest = hashlib.sha256(pdf).hexdigest()
    with transaction.atomic():
        locked = DisclosureRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status == DisclosureStatus.HANDED_OVER:
            raise ValidationError({"__all__": _("交付済みの開示請求です。")}, code="handed_over")
        document = DisclosureDocument(request=locked, generated_by=actor, sha256=digest,
                                      access_entries=len(contents.accesses), records=len(contents.records))
        document.full_clean()
        with acting_as(actor):
            document.save()
            locked.status = DisclosureStatus.GENERATED
            locked.save(update_fields=["status", "updated_at"])
        audit_event_record(event=AuditEvent.RIGHTS_DISCLOSURE_GENERATED, actor=actor, target=request.resident,
                           data={"request": locked.pk, "ticket": locked.ticket_id, "document": document.pk,
                                 "sha256": digest, "access_entries": document.access_entries,
                                 "up_to_seq": contents.up_to_seq})
        audit_access_record(actor=actor, objects=[request.resident], view=DOCUMENT_VIEW,
                            permission=CHANGE_DISCLOSURE, purpose=_("開示請求 %(n)s") % {"n": locked.ticket.number})
    return document, pdf


@transaction.atomic
def disclosure_handover_record(
    *, actor: Any, request: DisclosureRequest, document: DisclosureDocument, method: str, handed_over_on: date
) -> DisclosureRequest:
    """Record that ``document`` was handed to the requester (counter or mail) on ``handed_over_on``."""
    require(actor.has_perm(CHANGE_DISCLOSURE))
    request = DisclosureRequest.objects.select_for_update().select_related("ticket").get(pk=request.pk)
    if request.status == DisclosureStatus.HANDED_OVER:
        raise ValidationError({"__all__": _("既に交付済みです。")}, code="handed_over")
    if document.request_id != request.pk:
        raise ValidationError({"document": _("この開示請求の文書ではありません。")}, code="document")
    if method not in HandoverMethod.values:
        raise ValidationError({"method": _("交付方法を選択してください。")}, code="method")
    if handed_over_on > timezone.localdate() or handed_over_on < timezone.localdate(document.created_at):
        raise ValidationError({"handed_over_on": _("交付日は文書の作成日から今日までの日付を入力してください。")},
                              code="handed_over_on")
    request.status = DisclosureStatus.HANDED_OVER
    request.handover_method = method
    request.handed_over_on = handed_over_on
    request.handed_over_by = actor
    request.handed_over_document = document
    request.full_clean()
    with acting_as(actor):
        request.save()
        ticket_close(actor=actor, ticket=request.ticket,
                     answer=_("開示文書を交付（%(method)s、%(day)s）") % {
                         "method": request.get_handover_method_display(), "day": handed_over_on.isoformat()})
    audit_event_record(event=AuditEvent.RIGHTS_DISCLOSURE_HANDED_OVER, actor=actor,
                       target=request.resident or request,
                       data={"request": request.pk, "ticket": request.ticket_id, "document": document.pk,
                             "sha256": document.sha256, "method": method, "on": handed_over_on.isoformat()})
    return request
