"""Provision (情報提供): queries from other bodies about our residents, delivered by the intermediate server.

Each delivered query is stored once (unique remote id) and decided:

- not on the query-permission list for (requester, us, business, item) → a refusal is sent, no data;
- no resident holds the code → a "not found" answer, no data;
- the person carries a flag (自動応答不可, 支援措置, 利用停止: ``resident.auto_response_blocked``) or the item
  carries the auto-response-disabled flag (settings.LINKAGE_NO_AUTO_RESPONSE_ITEMS) → it waits in the
  confirmation queue; a staff member sees what would be sent and approves (the data is sent) or refuses
  (a refusal is sent, never data);
- otherwise → answered automatically.

The answer is sealed for the requester's public key and bound to the permit id. Sending follows the
same pattern as outbound queries: decide under a row lock, send outside any transaction with an
idempotency key of the query's own, then record the outcome under the lock — so a send retried after a
timeout is accepted once and recorded once. An answer that could not be sent stays "送信待ち" and is
sent again by the next poll.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.context import acting_as
from audit.events import AuditEvent
from audit.services import audit_event_record
from linkage.client import (
    InboundAnswer,
    InboundQueryMessage,
    IntermediateServerClient,
    LinkageError,
    LinkageRejected,
)
from linkage.envelope import seal
from linkage.models import InboundDecision, InboundQuery, InboundStatus, RecordDirection, RecordOutcome
from linkage.rules import PermissionLine, hold_reasons, is_permitted
from linkage.services.common import linkage_client, linkage_system_user, our_body, provision_record_write
from records.models import Resident, VaccinationRecord


def provision_payload(*, inbound: InboundQuery) -> dict[str, Any]:
    """What would be sent for ``inbound``: the doses given in this city (not the 転入前接種 records, which
    are other bodies' data), in the network's dose format. Empty for a query that gets no data."""
    if inbound.resident is None:
        return {"item": inbound.item, "doses": []}
    records = (VaccinationRecord.objects.filter(resident=inbound.resident, before_move_in=False)
               .select_related("vaccine", "clinic").order_by("vaccinated_on", "id"))
    doses = [
        {"vaccinated_on": r.vaccinated_on.isoformat(), "vaccine_code": r.vaccine.code, "lot_number": r.lot_number,
         "place": r.clinic.name if r.clinic is not None else r.place_text,
         "examination_category": r.examination_category, "dose_ml": str(r.dose_ml),
         "screening_doctor": r.screening_doctor, "vaccinating_doctor": r.vaccinating_doctor,
         "payment_category": r.payment_category}
        for r in records
    ]
    return {"provider": our_body()[0], "item": inbound.item, "doses": doses}


def _parse_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return timezone.now()
    return value if timezone.is_aware(value) else timezone.make_aware(value)


def inbound_receive(*, actor: Any, message: InboundQueryMessage, lines: list[PermissionLine]) -> InboundQuery | None:
    """Store and decide one delivered query; None when it was stored before (delivered twice)."""
    if InboundQuery.objects.filter(remote_id=message.inbound_id).exists():
        return None
    us = our_body()[0]
    resident = Resident.objects.filter(information_provision_code=message.code).first() if message.code else None
    inbound = InboundQuery(
        remote_id=message.inbound_id, requester_code=message.requester, requester_name=message.requester_name,
        business=message.business, item=message.item, information_provision_code=message.code,
        permit_id=message.permit_id, reply_key=message.reply_key, received_at=_parse_time(message.received_at),
        resident=resident, status=InboundStatus.SENDING,
    )
    reasons: list[str] = []
    if not is_permitted(lines, requester=message.requester, provider=us, business=message.business,
                        item=message.item):
        inbound.decision = InboundDecision.NOT_PERMITTED
    elif resident is None:
        inbound.decision = InboundDecision.NOT_FOUND
    else:
        reasons = hold_reasons(
            auto_response_disabled=resident.auto_response_disabled, is_protected=resident.is_protected,
            use_suspended=resident.use_suspended, item=message.item,
            flagged_items=settings.LINKAGE_NO_AUTO_RESPONSE_ITEMS,
        )
        if reasons:
            inbound.status = InboundStatus.AWAITING_CONFIRMATION
            inbound.hold_reasons = ",".join(reasons)
        else:
            inbound.decision = InboundDecision.AUTOMATIC
    inbound.full_clean(exclude=["remote_id"])
    try:
        with transaction.atomic():
            with acting_as(actor):
                inbound.save()
            audit_event_record(event=AuditEvent.LINKAGE_INBOUND_RECEIVED, actor=actor, target=inbound,
                               data={"requester": inbound.requester_code, "item": inbound.item,
                                     "permit_id": inbound.permit_id, "decision": inbound.decision,
                                     "resident_id": inbound.resident_id})
            if reasons:
                audit_event_record(event=AuditEvent.LINKAGE_PROVISION_HELD, actor=actor, target=inbound,
                                   data={"reasons": reasons, "resident_id": inbound.resident_id})
    except IntegrityError:
        return None
    return inbound


def _answer_for(inbound: InboundQuery) -> tuple[InboundAnswer, int]:
    """The answer to send and how many doses it carries (sealed for the requester, bound to the permit)."""
    key = f"answer-{inbound.remote_id}"
    if inbound.decision in (InboundDecision.AUTOMATIC, InboundDecision.APPROVED):
        payload = provision_payload(inbound=inbound)
        envelope = seal(payload, recipient_public_key=inbound.reply_key, context=inbound.permit_id)
        answer = InboundAnswer(inbound_id=inbound.remote_id, outcome="provided", idempotency_key=key, envelope=envelope)
        return answer, len(payload["doses"])
    outcome = "not_found" if inbound.decision == InboundDecision.NOT_FOUND else "refused"
    return InboundAnswer(inbound_id=inbound.remote_id, outcome=outcome, idempotency_key=key, reason=inbound.decision), 0


_OUTCOMES = {
    InboundDecision.AUTOMATIC: RecordOutcome.PROVIDED,
    InboundDecision.APPROVED: RecordOutcome.PROVIDED,
    InboundDecision.REFUSED_BY_STAFF: RecordOutcome.REFUSED,
    InboundDecision.NOT_PERMITTED: RecordOutcome.NOT_PERMITTED,
    InboundDecision.NOT_FOUND: RecordOutcome.NOT_FOUND,
}


def inbound_send(*, actor: Any, inbound_id: int, client: IntermediateServerClient | None = None) -> InboundQuery:
    """Send the decided answer of one inbound query (once; a retry after a timeout is accepted once)."""
    with transaction.atomic():
        inbound = InboundQuery.objects.select_for_update(of=("self",)).select_related("resident").get(pk=inbound_id)
        if inbound.status != InboundStatus.SENDING:
            return inbound
        inbound.attempts += 1
        answer, dose_count = _answer_for(inbound)
        with acting_as(actor):
            inbound.save(update_fields=["attempts", "updated_at"])
    own = client is None
    client = client or linkage_client()
    try:
        client.inbound_answer(answer)
    except LinkageRejected as exc:
        # The server refuses this answer for good (the query was withdrawn or answered otherwise):
        # sending it again would get the same refusal, so the query ends here, on record.
        return _answer_rejected(actor=actor, inbound_id=inbound_id, failure_code=exc.code)
    except LinkageError as exc:
        with transaction.atomic():
            inbound = InboundQuery.objects.select_for_update().get(pk=inbound_id)
            inbound.failure_code = exc.code
            with acting_as(actor):
                inbound.save(update_fields=["failure_code", "updated_at"])
        return inbound
    finally:
        if own:
            client.close()
    with transaction.atomic():
        inbound = (InboundQuery.objects.select_for_update(of=("self",)).select_related("resident", "decided_by")
                   .get(pk=inbound_id))
        if inbound.status != InboundStatus.SENDING:
            return inbound
        provided = answer.outcome == "provided"
        inbound.status = InboundStatus.PROVIDED if provided else InboundStatus.REFUSED
        inbound.answered_at = timezone.now()
        inbound.failure_code = ""
        with acting_as(actor):
            inbound.save()
        staff = inbound.decided_by
        provision_record_write(
            direction=RecordDirection.PROVISION, requester=(inbound.requester_code, inbound.requester_name),
            provider=our_body(), business=inbound.business, item=inbound.item, resident=inbound.resident,
            permit_id=inbound.permit_id, requested_at=inbound.received_at,
            outcome=_OUTCOMES[InboundDecision(inbound.decision)],
            staff=staff, detail=inbound.get_decision_display(), inbound=inbound,
        )
        audit_event_record(
            event=AuditEvent.LINKAGE_PROVISION_SENT if provided else AuditEvent.LINKAGE_PROVISION_REFUSED,
            actor=staff or actor, target=inbound,
            data={"requester": inbound.requester_code, "permit_id": inbound.permit_id, "decision": inbound.decision,
                  "doses": dose_count, "resident_id": inbound.resident_id, "stage": "sent"},
        )
        return inbound


def _answer_rejected(*, actor: Any, inbound_id: int, failure_code: str) -> InboundQuery:
    with transaction.atomic():
        inbound = (InboundQuery.objects.select_for_update(of=("self",)).select_related("resident", "decided_by")
                   .get(pk=inbound_id))
        if inbound.status != InboundStatus.SENDING:
            return inbound
        inbound.status = InboundStatus.FAILED
        inbound.failure_code = failure_code
        with acting_as(actor):
            inbound.save()
        provision_record_write(
            direction=RecordDirection.PROVISION, requester=(inbound.requester_code, inbound.requester_name),
            provider=our_body(), business=inbound.business, item=inbound.item, resident=inbound.resident,
            permit_id=inbound.permit_id, requested_at=inbound.received_at, outcome=RecordOutcome.FAILED,
            staff=inbound.decided_by, detail=failure_code, inbound=inbound,
        )
        return inbound


@dataclass
class PollSummary:
    received: int = 0
    held: int = 0
    sent: int = 0
    unsent: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"received": self.received, "held": self.held, "sent": self.sent, "unsent": self.unsent,
                "malformed": len(self.errors)}


def inbound_poll(*, actor: Any = None, client: IntermediateServerClient | None = None) -> PollSummary:
    """Fetch the queries waiting for us, store and decide each, then send every answer that is ready
    (including those a previous poll could not send). The scheduled job passes no actor and acts as
    the linkage system account. Raises LinkageError when the server cannot be reached for the fetch."""
    actor = actor or linkage_system_user()
    summary = PollSummary()
    own = client is None
    client = client or linkage_client()
    try:
        messages = client.inbound_fetch()
        lines = [PermissionLine(e.requester, e.provider, e.business, e.item) for e in client.permission_list()]
        for message in messages:
            try:
                inbound = inbound_receive(actor=actor, message=message, lines=lines)
            except ValidationError:
                # A malformed delivery (an over-long key, say) must not stop the others; it stays
                # unanswered at the server and is listed in the summary.
                summary.errors.append(message.inbound_id)
                continue
            if inbound is None:
                continue
            summary.received += 1
            summary.held += inbound.status == InboundStatus.AWAITING_CONFIRMATION
        for pk in InboundQuery.objects.filter(status=InboundStatus.SENDING).order_by("pk").values_list("pk", flat=True):
            inbound = inbound_send(actor=actor, inbound_id=pk, client=client)
            if inbound.status in (InboundStatus.PROVIDED, InboundStatus.REFUSED):
                summary.sent += 1
            else:
                summary.unsent += 1
    finally:
        if own:
            client.close()
    return summary


def _decide(*, actor: Any, inbound_id: int, decision: str, reason: str = "") -> InboundQuery:
    with transaction.atomic():
        inbound = InboundQuery.objects.select_for_update().get(pk=inbound_id)
        if inbound.status != InboundStatus.AWAITING_CONFIRMATION:
            raise ValidationError({"__all__": _("この照会は確認待ちではありません（既に判断されています）。")},
                                  code="not_awaiting")
        inbound.decision = decision
        inbound.decided_by = actor
        inbound.decided_at = timezone.now()
        inbound.refusal_reason = reason
        inbound.status = InboundStatus.SENDING
        with acting_as(actor):
            inbound.save()
        approved = decision == InboundDecision.APPROVED
        audit_event_record(
            event=AuditEvent.LINKAGE_PROVISION_APPROVED if approved else AuditEvent.LINKAGE_PROVISION_REFUSED,
            actor=actor, target=inbound,
            data={"requester": inbound.requester_code, "permit_id": inbound.permit_id, "reason": reason,
                  "resident_id": inbound.resident_id, "stage": "decided"},
        )
    return inbound_send(actor=actor, inbound_id=inbound_id)


def inbound_approve(*, actor: Any, inbound_id: int) -> InboundQuery:
    """A staff member confirms what would be sent: the answer goes out now (or with the next poll if
    the server cannot be reached)."""
    return _decide(actor=actor, inbound_id=inbound_id, decision=InboundDecision.APPROVED)


def inbound_refuse(*, actor: Any, inbound_id: int, reason: str) -> InboundQuery:
    """A staff member refuses: a refusal is sent, never the data."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("拒否の理由を入力してください。")}, code="reason_required")
    return _decide(actor=actor, inbound_id=inbound_id, decision=InboundDecision.REFUSED_BY_STAFF, reason=reason[:200])
