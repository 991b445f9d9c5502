"""Outbound queries (情報照会): a staff member asks the former municipality of a moved-in resident for the
resident's vaccination history, reviews the answer and registers its doses as 転入前接種 records.

The status machine (linkage.models.Exchange): pending → sent → answered | refused | failed. Sending
(``linkage_query_send``) is three steps: mark the exchange sent under a row lock; outside any
transaction, obtain the provision permit (refused ⇒ the query itself is never sent) and send the query;
then, under the lock again, store the result — at most one per exchange (OneToOne), and not at all if
another attempt already stored it. Every request carries idempotency keys derived from the exchange's
own key, so an attempt retried after a timeout gets the server's stored answer, never a second exchange.
"""

import json
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.context import acting_as
from audit.events import AuditEvent
from audit.services import audit_event_record
from linkage.client import (
    IntermediateServerClient,
    LinkageError,
    LinkageRejected,
    PermitRefused,
    PermitRequest,
    QueryRequest,
)
from linkage.envelope import EnvelopeError, open_envelope
from linkage.keys import our_private_keys, our_reply_key
from linkage.models import EXCHANGE_FINAL, Exchange, ExchangeStatus, LinkageResult, RecordDirection, RecordOutcome
from linkage.rules import BUSINESS, ITEM_HISTORY, DoseFormatError, ReceivedDose, parse_doses
from linkage.services.common import linkage_client, our_body, provision_record_write
from records.crypto import decrypt_blob, encrypt_blob
from records.models import ExaminationCategory, RecordSource, Resident, VaccinationRecord, Vaccine
from records.rules.age import legal_age
from records.services import vaccination_record_create


@transaction.atomic
def linkage_query_create(*, actor: Any, resident: Resident, provider_code: str, provider_name: str) -> Exchange:
    """A pending query for ``resident``'s history held by ``provider_code``. Only for a resident who
    moved in and has an information-provision code; never to ourselves."""
    errors: dict[str, str] = {}
    if resident.moved_in_on is None:
        errors["__all__"] = _("転入日が登録されていない宛名は照会できません（転入者の接種履歴の照会に限られます）。")
    elif not resident.information_provision_code:
        errors["__all__"] = _("情報提供用個人識別符号が未取得です。先に符号を取得してください。")
    if provider_code == our_body()[0]:
        errors["provider_code"] = _("自団体には照会できません。")
    if errors:
        raise ValidationError(errors)
    exchange = Exchange(
        idempotency_key=uuid.uuid4().hex, resident=resident, provider_code=provider_code,
        provider_name=provider_name, business=BUSINESS, item=ITEM_HISTORY, requested_by=actor,
    )
    exchange.full_clean()
    with acting_as(actor):
        exchange.save()
    return exchange


def _begin(*, actor: Any, exchange_id: int) -> Exchange | None:
    """Mark the exchange sent, or None when it is already final (nothing to send)."""
    with transaction.atomic():
        exchange = Exchange.objects.select_for_update(of=("self",)).select_related("resident").get(pk=exchange_id)
        if exchange.status in EXCHANGE_FINAL:
            return None
        exchange.status = ExchangeStatus.SENT
        exchange.attempts += 1
        exchange.sent_at = timezone.now()
        exchange.failure_code = ""
        with acting_as(actor):
            exchange.save()
        audit_event_record(event=AuditEvent.LINKAGE_QUERY_SENT, actor=actor, target=exchange,
                           data={"provider": exchange.provider_code, "item": exchange.item,
                                 "attempt": exchange.attempts, "resident_id": exchange.resident_id})
        return exchange


def _record(exchange: Exchange, *, outcome: str, actor: Any, detail: str = "") -> None:
    provision_record_write(
        direction=RecordDirection.QUERY, requester=our_body(),
        provider=(exchange.provider_code, exchange.provider_name), business=exchange.business, item=exchange.item,
        resident=exchange.resident, permit_id=exchange.permit_id,
        requested_at=exchange.sent_at or exchange.created_at, outcome=outcome, staff=actor, detail=detail,
        exchange=exchange,
    )


def _finish_unanswered(*, actor: Any, exchange_id: int, status: str, failure_code: str,
                       permit_id: str = "") -> Exchange:
    with transaction.atomic():
        exchange = Exchange.objects.select_for_update(of=("self",)).select_related("resident").get(pk=exchange_id)
        if exchange.status in EXCHANGE_FINAL:
            return exchange
        exchange.status = status
        exchange.failure_code = failure_code
        exchange.permit_id = permit_id or exchange.permit_id
        with acting_as(actor):
            exchange.save()
        refused = status == ExchangeStatus.REFUSED
        _record(exchange, outcome=RecordOutcome.NOT_PERMITTED if refused else RecordOutcome.FAILED, actor=actor,
                detail=failure_code)
        audit_event_record(
            event=AuditEvent.LINKAGE_QUERY_REFUSED if refused else AuditEvent.LINKAGE_QUERY_FAILED,
            actor=actor, target=exchange,
            data={"provider": exchange.provider_code, "reason": failure_code, "attempt": exchange.attempts},
        )
        return exchange


def _permit(client: IntermediateServerClient, exchange: Exchange, *, key: str) -> str:
    """Obtain a provision permit and keep its id on the exchange at once (a later attempt reuses it)."""
    permit = client.permit_request(PermitRequest(
        provider=exchange.provider_code, business=exchange.business, item=exchange.item,
        code=str(exchange.resident.information_provision_code), idempotency_key=key,
    ))
    # A bare column update: the permit id is no personal data, and the events that follow carry it.
    Exchange.objects.filter(pk=exchange.pk).update(permit_id=permit.permit_id)
    return permit.permit_id


def linkage_query_send(*, actor: Any, exchange_id: int, client: IntermediateServerClient | None = None) -> Exchange:
    """Send (or send again) one query and store its answer. Returns the exchange in its new state:
    answered, refused (no permit: the query was not sent), or failed (``failure_code`` says why;
    sending again later completes it)."""
    exchange = _begin(actor=actor, exchange_id=exchange_id)
    if exchange is None:
        return Exchange.objects.get(pk=exchange_id)
    own = client is None
    client = client or linkage_client()
    permit_id = exchange.permit_id  # an earlier attempt's permit, if it got one
    query_key = f"{exchange.idempotency_key}-query"
    try:
        if not permit_id:
            permit_id = _permit(client, exchange, key=f"{exchange.idempotency_key}-permit")
        try:
            answer = client.query(QueryRequest(permit_id=permit_id, reply_key=our_reply_key(),
                                               idempotency_key=query_key))
        except LinkageRejected as exc:
            if exc.code not in ("permit_expired", "unknown_permit"):
                raise
            # The earlier attempt's permit lapsed before its query was answered (the server would have
            # returned the stored answer for the query key otherwise): a new permit, the same query key.
            permit_id = _permit(client, exchange, key=f"{exchange.idempotency_key}-permit-{exchange.attempts}")
            answer = client.query(QueryRequest(permit_id=permit_id, reply_key=our_reply_key(),
                                               idempotency_key=query_key))
        permit_id = answer.permit_id
        payload = open_envelope(answer.envelope, private_keys=our_private_keys(), context=permit_id)
        doses = parse_doses(payload)
    except PermitRefused as exc:
        return _finish_unanswered(actor=actor, exchange_id=exchange_id, status=ExchangeStatus.REFUSED,
                                  failure_code=exc.code)
    except LinkageError as exc:
        return _finish_unanswered(actor=actor, exchange_id=exchange_id, status=ExchangeStatus.FAILED,
                                  failure_code=exc.code, permit_id=permit_id)
    except EnvelopeError:
        return _finish_unanswered(actor=actor, exchange_id=exchange_id, status=ExchangeStatus.FAILED,
                                  failure_code="undecryptable", permit_id=permit_id)
    except DoseFormatError as exc:
        return _finish_unanswered(actor=actor, exchange_id=exchange_id, status=ExchangeStatus.FAILED,
                                  failure_code=f"malformed_{exc.field}", permit_id=permit_id)
    finally:
        if own:
            client.close()
    return _store(actor=actor, exchange_id=exchange_id, permit_id=permit_id, query_id=answer.query_id,
                  payload=payload, dose_count=len(doses))


def _store(*, actor: Any, exchange_id: int, permit_id: str, query_id: str, payload: Any, dose_count: int) -> Exchange:
    with transaction.atomic():
        exchange = Exchange.objects.select_for_update(of=("self",)).select_related("resident").get(pk=exchange_id)
        if exchange.status == ExchangeStatus.ANSWERED or LinkageResult.objects.filter(exchange=exchange).exists():
            return exchange  # another attempt stored this answer already: never twice
        now = timezone.now()
        exchange.status = ExchangeStatus.ANSWERED
        exchange.permit_id = permit_id
        exchange.query_id = query_id
        exchange.answered_at = now
        exchange.failure_code = ""
        result = LinkageResult(
            exchange=exchange, resident=exchange.resident, dose_count=dose_count, received_at=now,
            payload_ciphertext=encrypt_blob(json.dumps(payload, ensure_ascii=False).encode("utf-8")),
        )
        with acting_as(actor):
            exchange.save()
            result.save()
        _record(exchange, outcome=RecordOutcome.ANSWERED, actor=actor)
        audit_event_record(event=AuditEvent.LINKAGE_RESULT_RECEIVED, actor=actor, target=exchange,
                           data={"provider": exchange.provider_code, "permit_id": permit_id, "doses": dose_count,
                                 "resident_id": exchange.resident_id})
        return exchange


def linkage_result_doses(*, result: LinkageResult) -> list[ReceivedDose]:
    """The doses of a stored result, decrypted."""
    return parse_doses(json.loads(decrypt_blob(bytes(result.payload_ciphertext)).decode("utf-8")))


def _dose_errors(index: int, dose: ReceivedDose, resident: Resident, vaccine: Vaccine | None) -> list[str]:
    label = _dose_label(index, dose)
    errors = []
    if vaccine is None:
        errors.append(_("%(label)s: ワクチンコード %(code)s がワクチンマスタにありません。")
                      % {"label": label, "code": dose.vaccine_code})
    if resident.moved_in_on is not None and dose.vaccinated_on >= resident.moved_in_on:
        errors.append(_("%(label)s: 転入日（%(moved_in)s）以後の接種は転入前接種として登録できません。")
                      % {"label": label, "moved_in": resident.moved_in_on.isoformat()})
    if dose.vaccinated_on < resident.birth_date:
        errors.append(_("%(label)s: 接種日が生年月日より前です。") % {"label": label})
    return errors


def _dose_label(index: int, dose: ReceivedDose) -> str:
    return _("%(n)d件目（%(date)s）") % {"n": index + 1, "date": dose.vaccinated_on.isoformat()}


@transaction.atomic
def linkage_result_register(*, actor: Any, result_id: int) -> tuple[list[VaccinationRecord], int]:
    """Register every dose of a result as a 転入前接種 record (source 情報連携) in one action, all or
    nothing. Doses already held (same date, vaccine and category) are skipped, never stored twice.
    Returns (records created, doses skipped as already held)."""
    result = (LinkageResult.objects.select_for_update(of=("self",))
              .select_related("exchange", "resident")).get(pk=result_id)
    if result.registered_at is not None:
        raise ValidationError({"__all__": _("この照会結果は既に登録されています。")}, code="registered")
    resident = result.resident
    doses = linkage_result_doses(result=result)
    vaccines = {v.code: v for v in Vaccine.objects.filter(code__in={d.vaccine_code for d in doses})}
    errors = [e for i, d in enumerate(doses) for e in _dose_errors(i, d, resident, vaccines.get(d.vaccine_code))]
    if errors:
        raise ValidationError({"__all__": errors}, code="invalid_dose")
    created, skipped = [], 0
    exchange = result.exchange
    for index, dose in enumerate(doses):
        vaccine = vaccines[dose.vaccine_code]
        held = VaccinationRecord.objects.filter(resident=resident, vaccinated_on=dose.vaccinated_on, vaccine=vaccine,
                                                examination_category=dose.examination_category).exists()
        if held:
            skipped += 1
            continue
        screening_only = dose.examination_category == ExaminationCategory.SCREENING_ONLY
        try:
            created.append(vaccination_record_create(
                actor=actor, resident=resident, vaccine=vaccine, vaccinated_on=dose.vaccinated_on,
                age_at_vaccination=legal_age(resident.birth_date, dose.vaccinated_on),
                billing_month=dose.vaccinated_on.replace(day=1), examination_category=dose.examination_category,
                screening_doctor=dose.screening_doctor or "不明（情報連携）", payment_category=dose.payment_category,
                fee_yen=0, dose_ml=dose.dose_ml, place_text=f"{exchange.provider_name} {dose.place}".strip()[:200],
                lot_number=dose.lot_number, before_move_in=True,
                vaccinating_doctor="" if screening_only else dose.vaccinating_doctor,
                remarks1=f"情報連携 提供許可証 {exchange.permit_id}"[:200], source=RecordSource.LINKAGE,
            ))
        except ValidationError as exc:
            raise ValidationError(
                {"__all__": [f"{_dose_label(index, dose)}: {m}" for m in exc.messages]},
                code="invalid_dose",
            ) from None
    result.registered_at = timezone.now()
    result.registered_by = actor
    result.registered_count = len(created)
    with acting_as(actor):
        result.save()
    audit_event_record(event=AuditEvent.LINKAGE_RESULT_REGISTERED, actor=actor, target=result,
                       data={"exchange_id": exchange.pk, "created": len(created), "skipped": skipped,
                             "resident_id": resident.pk})
    return created, skipped


def _enqueue_send(*, actor: Any, exchange: Exchange) -> None:
    from linkage.tasks import query_send_task

    exchange_id, actor_id = exchange.pk, actor.pk
    transaction.on_commit(lambda: query_send_task.delay(exchange_id, actor_id))


@transaction.atomic
def linkage_query_request(*, actor: Any, resident: Resident, provider_code: str, provider_name: str) -> Exchange:
    """Create the query and send it on Celery once this transaction commits (the page follows it)."""
    exchange = linkage_query_create(actor=actor, resident=resident, provider_code=provider_code,
                                    provider_name=provider_name)
    _enqueue_send(actor=actor, exchange=exchange)
    return exchange


@transaction.atomic
def linkage_query_retry(*, actor: Any, exchange_id: int) -> Exchange:
    """Send a failed query again, with the same idempotency key (on Celery, after commit)."""
    exchange = Exchange.objects.select_for_update().get(pk=exchange_id)
    if exchange.status in EXCHANGE_FINAL:
        raise ValidationError({"__all__": _("この照会は完了しているため、再送できません。")}, code="final")
    _enqueue_send(actor=actor, exchange=exchange)
    return exchange
