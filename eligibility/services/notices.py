"""Notice batches: issuing (ticket numbers for every mailable target), releasing a protected resident's
notice on staff judgement, the merged PDFs per chunk and the print CSVs, and ticket reissue (再発行).

Ticket numbers: a 9-digit serial reserved from TicketNumberCounter under a row lock, plus a Luhn check
digit, so a misread OCR digit is caught. One valid ticket per person, campaign and dose (database
constraint); reissue voids the old number before the new one is stored.

Every PDF and CSV generated is an audit event naming the batch (or ticket), the chunk and the residents
whose notices it holds. Residents under 利用停止 never reach a batch (extraction excludes them) and a
ticket of one is not reissued.
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit.events import AuditEvent
from audit.models import AuditLogEntry
from audit.services import audit_entries_bulk_create, audit_event_record
from eligibility.models import (
    BatchStatus,
    Campaign,
    NoticeBatch,
    NoticeItem,
    Ticket,
    TicketNumberCounter,
)
from eligibility.selectors import mailable_items

TICKETS = "tickets"
LETTERS = "letters"
KINDS = (TICKETS, LETTERS)
MAX_SERIAL = 999_999_999


def luhn_digit(digits: str) -> int:
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = int(char) * (2 if i % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


def ticket_number(serial: int) -> str:
    body = f"{serial:09d}"
    return body + str(luhn_digit(body))


def is_valid_ticket_number(value: str) -> bool:
    return len(value) == 10 and value.isascii() and value.isdigit() and luhn_digit(value[:9]) == int(value[9])


def _reserve_serials(count: int) -> range:
    counter, _created = TicketNumberCounter.objects.select_for_update().get_or_create(pk=1)
    start = counter.last_serial + 1
    if counter.last_serial + count > MAX_SERIAL:
        raise ValidationError("接種券番号の採番範囲を使い切りました。")
    counter.last_serial += count
    counter.save()
    return range(start, start + count)


def _ticket_created_changes(ticket: Any) -> dict[str, Any]:
    return {"number": [None, ticket.number], "resident": [None, str(ticket.resident_id)],
            "dose_number": [None, str(ticket.dose_number)]}


def _allocate(*, actor: Any, campaign: Campaign, items_query: QuerySet[NoticeItem], issued_on: Any) -> list[Ticket]:
    """Give each item of ``items_query`` a ticket: the person's valid one for this campaign and dose if any,
    else a new one."""
    items = [NoticeItem(pk=pk, batch_id=batch_id, resident_id=rid, dose_number=dose)
             for pk, batch_id, rid, dose in items_query.values_list("id", "batch_id", "resident_id", "dose_number")]
    if not items:
        return []
    existing = {
        (t.resident_id, t.dose_number): t
        for t in Ticket.objects.filter(campaign=campaign, voided_at__isnull=True,
                                       resident_id__in=items_query.values("resident_id"))
    }
    needing = [i for i in items if (i.resident_id, i.dose_number) not in existing]
    serials = _reserve_serials(len(needing)) if needing else range(0)
    created = Ticket.objects.bulk_create(
        [Ticket(number=ticket_number(serial), resident_id=item.resident_id, campaign=campaign,
                dose_number=item.dose_number, issued_on=issued_on)
         for item, serial in zip(needing, serials, strict=True)],
        batch_size=5000,
    )
    # One set-based UPDATE joining the person's valid ticket for the dose (unique by constraint).
    item_table = connection.ops.quote_name(NoticeItem._meta.db_table)
    ticket_table = connection.ops.quote_name(Ticket._meta.db_table)
    # The items of ``items_query`` are the batch's mailable items without a ticket (optionally one of them):
    # the same conditions, written out so PostgreSQL joins instead of probing a subquery per row.
    batch_id = items[0].batch_id
    one = " AND i.id = %s" if len(items) == 1 else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {item_table} AS i SET ticket_id = t.id FROM {ticket_table} AS t "  # noqa: S608
            "WHERE i.batch_id = %s AND i.ticket_id IS NULL AND NOT (i.mail_held AND i.released_by_id IS NULL)"
            f"{one} AND t.resident_id = i.resident_id AND t.campaign_id = %s AND t.dose_number = i.dose_number "
            "AND t.voided_at IS NULL",
            [batch_id, *([items[0].pk] if one else []), campaign.pk],
        )
        updated = cursor.rowcount
    if updated != len(items):
        raise ValidationError("通知対象者の状態が変わったため発行できませんでした。もう一度実行してください。")
    audit_entries_bulk_create(
        actor=actor, action=AuditLogEntry.Action.CREATE, objects=created,
        changes=_ticket_created_changes,
        additional_data={"campaign_id": campaign.pk},
    )
    return created


@transaction.atomic
def notice_batch_issue(*, actor: Any, batch: NoticeBatch) -> NoticeBatch:
    """発行: ticket numbers for every mailable target (held protected residents get none until released)."""
    batch = NoticeBatch.objects.select_for_update().select_related("campaign").get(pk=batch.pk)
    if batch.status != BatchStatus.DRAFT:
        raise ValidationError("この通知バッチは既に発行されています。")
    batch.status, batch.issued_on, batch.issued_by = BatchStatus.ISSUED, timezone.localdate(), actor
    batch.save()
    items = mailable_items(batch).filter(ticket__isnull=True)
    created = _allocate(actor=actor, campaign=batch.campaign, items_query=items, issued_on=batch.issued_on)
    audit_event_record(event=AuditEvent.NOTICE_BATCH_ISSUED, actor=actor, target=batch, data={
        "batch_id": batch.pk, "campaign_id": batch.campaign_id, "tickets_created": len(created),
        "held": batch.items.filter(mail_held=True, released_by__isnull=True).count(),
    })
    return batch


@transaction.atomic
def notice_item_release(*, actor: Any, item: NoticeItem, reason: str) -> NoticeItem:
    """Send the notice of a resident under 支援措置 after all, on staff judgement with a recorded reason
    (e.g. the address on file is the safe one agreed with the person)."""
    item = NoticeItem.objects.select_for_update().select_related("batch", "batch__campaign").get(pk=item.pk)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "送付する理由を入力してください。"})
    if not item.mail_held or item.released_by_id is not None:
        raise ValidationError("この対象者は送付保留になっていません。")
    item.release_reason, item.released_by = reason, actor
    item.full_clean()
    item.save()
    audit_event_record(event=AuditEvent.NOTICE_HOLD_RELEASED, actor=actor, target=item.resident, data={
        "batch_id": item.batch_id, "item_id": item.pk, "reason": reason,
    })
    if item.batch.status == BatchStatus.ISSUED:
        _allocate(actor=actor, campaign=item.batch.campaign, items_query=NoticeItem.objects.filter(pk=item.pk),
                  issued_on=timezone.localdate())
        item.refresh_from_db()
    return item


def _vaccine_names(batch_rule: Any) -> str:
    return "、".join(v.name for v in batch_rule.vaccines.order_by("code"))


def _address(resident: Any) -> str:
    return f"{resident.address} {resident.address_detail}".strip()


def _ticket_data(ticket: Ticket, *, campaign: Campaign, vaccine_name: str) -> Any:
    from eligibility.documents import TicketData

    r = ticket.resident
    return TicketData(
        ticket_number=ticket.number, ticket_type=campaign.ticket_type, dose_number=ticket.dose_number,
        name=r.name, name_kana=r.name_kana, postal_code=r.postal_code, address=_address(r),
        birth_date=r.birth_date, vaccine_name=vaccine_name, campaign_name=campaign.name,
        period_start=campaign.period_start, period_end=campaign.period_end, issued_on=ticket.issued_on,
    )


def _letter_data(item: NoticeItem, *, batch: NoticeBatch, vaccine_name: str) -> Any:
    from eligibility.documents import LetterData

    r = item.resident
    c = batch.campaign
    return LetterData(name=r.name, postal_code=r.postal_code, address=_address(r), campaign_name=c.name,
                      vaccine_name=vaccine_name, period_start=c.period_start, period_end=c.period_end,
                      issued_on=batch.issued_on or timezone.localdate())


def chunk_count(batch: NoticeBatch) -> int:
    size = settings.ELIGIBILITY_NOTICE_CHUNK_SIZE
    return (mailable_items(batch).count() + size - 1) // size


def _chunk_items(batch: NoticeBatch, chunk: int) -> list[NoticeItem]:
    if batch.status != BatchStatus.ISSUED:
        raise ValidationError("発行前の通知バッチは出力できません。")
    size = settings.ELIGIBILITY_NOTICE_CHUNK_SIZE
    if chunk < 1 or chunk > max(chunk_count(batch), 1):
        raise ValidationError("分割番号が範囲外です。")
    qs = mailable_items(batch).select_related("resident", "ticket")
    return list(qs[(chunk - 1) * size: chunk * size])


@transaction.atomic
def notice_batch_pdf(*, actor: Any, batch: NoticeBatch, kind: str, chunk: int) -> bytes:
    """One merged PDF (tickets or letters) for the ``chunk``-th slice of the batch, for the print shop."""
    from eligibility.documents import render_letters, render_tickets

    items = _chunk_items(batch, chunk)
    vaccine_name = _vaccine_names(batch.rule)
    if kind == TICKETS:
        content = render_tickets([_ticket_data(i.ticket, campaign=batch.campaign, vaccine_name=vaccine_name)
                                  for i in items if i.ticket is not None])
    elif kind == LETTERS:
        content = render_letters([_letter_data(i, batch=batch, vaccine_name=vaccine_name) for i in items])
    else:
        raise ValidationError("出力の種類が不正です。")
    audit_event_record(event=AuditEvent.NOTICE_PDF_GENERATED, actor=actor, target=batch, data={
        "batch_id": batch.pk, "kind": kind, "chunk": chunk, "count": len(items),
        "resident_ids": [i.resident_id for i in items],
    })
    return content


@transaction.atomic
def notice_batch_csv(*, actor: Any, batch: NoticeBatch, kind: str) -> bytes:
    """The whole batch's tickets or letters as the print vendor's CSV."""
    from eligibility.documents import letters_csv, tickets_csv

    if batch.status != BatchStatus.ISSUED:
        raise ValidationError("発行前の通知バッチは出力できません。")
    items = list(mailable_items(batch).select_related("resident", "ticket"))
    vaccine_name = _vaccine_names(batch.rule)
    if kind == TICKETS:
        content = tickets_csv([_ticket_data(i.ticket, campaign=batch.campaign, vaccine_name=vaccine_name)
                               for i in items if i.ticket is not None])
    elif kind == LETTERS:
        content = letters_csv([_letter_data(i, batch=batch, vaccine_name=vaccine_name) for i in items])
    else:
        raise ValidationError("出力の種類が不正です。")
    audit_event_record(event=AuditEvent.NOTICE_CSV_GENERATED, actor=actor, target=batch, data={
        "batch_id": batch.pk, "kind": kind, "count": len(items),
    })
    return content


@transaction.atomic
def ticket_reissue(*, actor: Any, ticket: Ticket, reason: str) -> Ticket:
    """再発行 on the person's application: the old number becomes void, a new one replaces it."""
    old = Ticket.objects.select_for_update().select_related("resident", "campaign").get(pk=ticket.pk)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "再発行の理由を入力してください。"})
    if old.voided_at is not None:
        raise ValidationError("この接種券は既に無効です。")
    if old.resident.use_suspended:
        raise ValidationError("利用停止中の方には接種券を発行できません。")
    old.voided_at, old.voided_by, old.void_reason = timezone.now(), actor, f"再発行: {reason}"
    old.save()
    new = Ticket(number=ticket_number(_reserve_serials(1)[0]), resident=old.resident, campaign=old.campaign,
                 dose_number=old.dose_number, issued_on=timezone.localdate(), replaces=old)
    new.full_clean()
    new.save()
    audit_event_record(event=AuditEvent.TICKET_REISSUED, actor=actor, target=old.resident, data={
        "old_ticket": old.number, "new_ticket": new.number, "campaign_id": old.campaign_id, "reason": reason,
    })
    return new


@transaction.atomic
def ticket_pdf(*, actor: Any, ticket: Ticket) -> bytes:
    """One valid ticket as a PDF (after a reissue, to hand over or mail)."""
    from eligibility.documents import render_tickets

    if ticket.voided_at is not None:
        raise ValidationError("無効になった接種券は出力できません。")
    if ticket.resident.use_suspended:
        raise ValidationError("利用停止中の方の接種券は出力できません。")
    rule = ticket.campaign.current_rule
    content = render_tickets([_ticket_data(ticket, campaign=ticket.campaign, vaccine_name=_vaccine_names(rule))])
    audit_event_record(event=AuditEvent.NOTICE_PDF_GENERATED, actor=actor, target=ticket.resident, data={
        "ticket": ticket.number, "kind": TICKETS, "count": 1, "resident_ids": [ticket.resident_id],
    })
    return content
