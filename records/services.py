"""State changes of residents and vaccination records. Every write names its actor, validates with
full_clean() and runs in one transaction; django-auditlog records the field diff with that actor."""

import unicodedata
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from audit.context import acting_as
from audit.events import AuditEvent
from audit.services import audit_access_record, audit_event_record
from koshigaya_vax.logging import redact
from records.crypto import (
    decrypt_my_number,
    encrypt_my_number,
    is_encrypted_with_current_key,
    my_number_blind_index,
)
from records.models import (
    DUPLICATE_RECORD_MESSAGE,
    Clinic,
    RecordSource,
    ResidencyStatus,
    Resident,
    VaccinationRecord,
    Vaccine,
)
from records.permissions import REVEAL_MY_NUMBER, VIEW_RESIDENT, can_reveal_my_number, can_view_resident
from records.rules.kana import kana_key, name_key, normalize_kana
from records.rules.mynumber import MyNumberError, normalize_my_number

# The 16 items (and the place text for pre-move-in doses) that staff may set on a record.
RECORD_FIELDS = (
    "vaccinated_on", "clinic", "place_text", "age_at_vaccination", "billing_month", "examination_category",
    "lot_number", "vaccine", "before_move_in", "screening_doctor", "vaccinating_doctor", "payment_category",
    "fee_yen", "dose_ml", "remarks1", "remarks2", "remarks3",
)


def _set_my_number(resident: Resident, raw: str | None) -> None:
    if not raw:
        resident.my_number_ciphertext = ""
        resident.my_number_index = None
        return
    try:
        value = normalize_my_number(raw)
    except MyNumberError as exc:
        raise ValidationError({"my_number": exc.message}, code=exc.code) from None
    resident.my_number_ciphertext = encrypt_my_number(value)
    resident.my_number_index = my_number_blind_index(value)


def _save_unique(obj: Any, *, duplicate_message: str, duplicate_field: str = "__all__") -> None:
    """Save inside a savepoint so a unique-constraint race surfaces as a ValidationError."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        raise ValidationError({duplicate_field: duplicate_message}, code="duplicate") from None


@transaction.atomic
def resident_create(
    *,
    actor: Any,
    address_number: str,
    name: str,
    name_kana: str,
    sex: int,
    birth_date: date,
    address: str,
    my_number: str | None = None,
    postal_code: str = "",
    address_detail: str = "",
    phone: str = "",
    residency_status: str = ResidencyStatus.RESIDENT,
    moved_in_on: date | None = None,
    moved_out_on: date | None = None,
    died_on: date | None = None,
) -> Resident:
    resident = Resident(
        address_number=address_number, name=name.strip(), name_kana=normalize_kana(name_kana),
        sex=sex, birth_date=birth_date, address=address, postal_code=postal_code,
        address_detail=address_detail, phone=phone, residency_status=residency_status,
        moved_in_on=moved_in_on, moved_out_on=moved_out_on, died_on=died_on,
    )
    resident.kana_key = kana_key(resident.name_kana)
    resident.name_key = name_key(resident.name)
    _set_my_number(resident, my_number)
    resident.full_clean(exclude=["my_number_index"])
    if resident.my_number_index and Resident.objects.filter(my_number_index=resident.my_number_index).exists():
        raise ValidationError({"my_number": "この個人番号は別の宛名に登録されています。"}, code="duplicate")
    with acting_as(actor):
        _save_unique(resident, duplicate_message="この宛名は既に登録されています。")
    return resident


@transaction.atomic
def vaccination_record_create(
    *,
    actor: Any,
    resident: Resident,
    vaccine: Vaccine,
    vaccinated_on: date,
    age_at_vaccination: int,
    billing_month: date,
    examination_category: int,
    screening_doctor: str,
    payment_category: int,
    fee_yen: int,
    dose_ml: Decimal,
    clinic: Clinic | None = None,
    place_text: str = "",
    lot_number: str = "",
    before_move_in: bool = False,
    vaccinating_doctor: str = "",
    remarks1: str = "",
    remarks2: str = "",
    remarks3: str = "",
    source: str = RecordSource.MANUAL,
) -> VaccinationRecord:
    record = VaccinationRecord(
        resident=resident, vaccine=vaccine, vaccinated_on=vaccinated_on,
        age_at_vaccination=age_at_vaccination, billing_month=billing_month,
        examination_category=examination_category, screening_doctor=screening_doctor,
        payment_category=payment_category, fee_yen=fee_yen, dose_ml=dose_ml, clinic=clinic,
        place_text=place_text, lot_number=lot_number.upper(), before_move_in=before_move_in,
        vaccinating_doctor=vaccinating_doctor, remarks1=remarks1, remarks2=remarks2, remarks3=remarks3,
        source=source, created_by=actor, updated_by=actor,
    )
    record.full_clean()
    with acting_as(actor):
        _save_unique(record, duplicate_message=str(DUPLICATE_RECORD_MESSAGE))
    return record


@transaction.atomic
def vaccination_record_update(*, actor: Any, record: VaccinationRecord, data: dict[str, Any]) -> VaccinationRecord:
    """Correct a record. Only the 16 items may change; the resident, source and creator never do."""
    unknown = set(data) - set(RECORD_FIELDS)
    if unknown:
        raise ValidationError({"__all__": "変更できない項目が含まれています。"}, code="unknown_fields")
    record = VaccinationRecord.objects.select_for_update().get(pk=record.pk)
    for field, value in data.items():
        setattr(record, field, value.upper() if field == "lot_number" and isinstance(value, str) else value)
    record.updated_by = actor
    record.full_clean()
    with acting_as(actor):
        _save_unique(record, duplicate_message=str(DUPLICATE_RECORD_MESSAGE))
    return record


@transaction.atomic
def vaccination_record_delete(*, actor: Any, record: VaccinationRecord, reason: str) -> None:
    """Delete a record entered in error. The reason is required and kept in the audit entry."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "削除の理由を入力してください。"}, code="reason_required")
    record = VaccinationRecord.objects.select_for_update().get(pk=record.pk)
    record.audit_reason = reason
    with acting_as(actor):
        record.delete()


def my_number_rekey(*, actor: Any, batch_size: int = 1000) -> int:
    """Re-encrypt every My Number that is not under the first key of MY_NUMBER_KEYS (after a rotation).

    Works in batches, each its own transaction, so it can be interrupted and run again; the blind index
    does not change. ``bulk_update`` sends no auditlog signals, so one business event per batch records
    how many rows it re-encrypted. Returns the number of residents re-encrypted.
    """
    total = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = list(
                Resident.objects.select_for_update()
                .filter(pk__gt=last_pk)
                .exclude(my_number_ciphertext="")
                .order_by("pk")
                .only("pk", "my_number_ciphertext")[:batch_size]
            )
            if not batch:
                return total
            last_pk = batch[-1].pk
            stale = [r for r in batch if not is_encrypted_with_current_key(r.my_number_ciphertext)]
            for resident in stale:
                resident.my_number_ciphertext = encrypt_my_number(decrypt_my_number(resident.my_number_ciphertext))
            if stale:
                Resident.objects.bulk_update(stale, ["my_number_ciphertext"])
                audit_event_record(
                    event=AuditEvent.MY_NUMBER_REKEYED, actor=actor, target=actor,
                    data={"count": len(stale), "first_pk": stale[0].pk, "last_pk": stale[-1].pk},
                )
            total += len(stale)


REVEAL_PURPOSE_MAX_LENGTH = 200


def _purpose_clean(purpose: str, *, required_message: str) -> str:
    purpose = purpose.strip()
    if not purpose:
        raise ValidationError({"purpose": required_message}, code="purpose_required")
    if len(purpose) > REVEAL_PURPOSE_MAX_LENGTH:
        raise ValidationError({"purpose": f"理由は{REVEAL_PURPOSE_MAX_LENGTH}文字以内で入力してください。"},
                              code="purpose_too_long")
    normalised = unicodedata.normalize("NFKC", purpose)  # full-width digits count too
    if redact(normalised) != normalised:
        raise ValidationError(
            {"purpose": "理由に12桁の数字（個人番号など）を含めないでください。理由は監査記録に残ります。"},
            code="purpose_has_number",
        )
    return purpose


@transaction.atomic
def protected_view_reason_record(*, actor: Any, resident: Resident, purpose: str, view: str) -> str:
    """Record why ``actor`` is about to view a protected person's (支援措置) record: a read-access entry
    carrying the reason, written before the record is shown. Returns the cleaned reason."""
    if not can_view_resident(actor):
        raise PermissionDenied
    purpose = _purpose_clean(purpose, required_message="閲覧する理由を入力してください。")
    audit_access_record(actor=actor, objects=[resident], view=view, permission=VIEW_RESIDENT, purpose=purpose)
    return purpose


@transaction.atomic
def my_number_reveal(
    *, actor: Any, resident: Resident, purpose: str, view: str = "records.services.my_number_reveal"
) -> str:
    """The resident's full My Number, for showing once to ``actor``, who must say why (``purpose``).

    Records MY_NUMBER_REVEALED and a read-access entry carrying the purpose, in this transaction: if
    either cannot be written, nothing is returned. ``view`` names the screen or endpoint that shows the
    number (its URL name). The purpose is kept verbatim in the log, so it may not itself hold a
    12-digit number (someone typing the My Number into the reason box would write it into the log).
    """
    if not can_reveal_my_number(actor):
        raise PermissionDenied
    purpose = _purpose_clean(purpose, required_message="表示する理由を入力してください。")
    if not resident.has_my_number:
        raise ValidationError({NON_FIELD_ERRORS: "この宛名には個人番号が登録されていません。"},
                              code="no_my_number")
    my_number = decrypt_my_number(resident.my_number_ciphertext)
    audit_event_record(event=AuditEvent.MY_NUMBER_REVEALED, actor=actor, target=resident,
                       data={"view": view, "purpose": purpose})
    audit_access_record(actor=actor, objects=[resident], view=view, permission=REVEAL_MY_NUMBER,
                        purpose=purpose)
    return my_number


# --- Registered non-residents (住登外者, issue #7) -------------------------------------------------------


@transaction.atomic
def non_resident_register(
    *,
    actor: Any,
    address_number: str,
    name: str,
    name_kana: str,
    sex: int,
    birth_date: date,
    address: str,
    registered_from: date,
    source: str,
    source_document: str,
    source_reference: str = "",
    postal_code: str = "",
    my_number: str | None = None,
) -> Resident:
    """Register a person the city holds no resident record for (e.g. vaccinated here while living
    elsewhere), from a source document: the resident with status 住登外者, a residency period from
    ``registered_from`` (cause ``non_resident_registration``), the registration with its source, and
    the business event FEED_NON_RESIDENT_REGISTERED — one transaction, all or nothing."""
    from django.utils import timezone

    from records.models import NonResidentRegistration, ResidencyCause, ResidencyPeriod

    errors: dict[str, str] = {}
    if registered_from > timezone.localdate():
        errors["registered_from"] = "住登外登録日が未来の日付です。"
    elif registered_from < birth_date:
        errors["registered_from"] = "住登外登録日が生年月日より前です。"
    if not source_document.strip():
        errors["source_document"] = "確認した書類を入力してください。"
    if errors:
        raise ValidationError(errors)
    resident = resident_create(
        actor=actor, address_number=address_number, name=name, name_kana=name_kana, sex=sex, birth_date=birth_date,
        address=address, postal_code=postal_code, my_number=my_number,
        residency_status=ResidencyStatus.NON_RESIDENT, moved_in_on=registered_from,
    )
    period = ResidencyPeriod(
        resident=resident, status=ResidencyStatus.NON_RESIDENT, valid_from=registered_from, address=resident.address,
        postal_code=resident.postal_code, cause=ResidencyCause.NON_RESIDENT_REGISTRATION,
    )
    registration = NonResidentRegistration(
        resident=resident, registered_from=registered_from, source=source, source_document=source_document.strip(),
        source_reference=source_reference.strip(), registered_by=actor,
    )
    period.full_clean()
    registration.full_clean()
    with acting_as(actor):
        period.save()
        registration.save()
        audit_event_record(event=AuditEvent.FEED_NON_RESIDENT_REGISTERED, actor=actor, target=resident,
                           data={"registration": registration.pk, "source": source})
    return resident


def non_resident_register_from_jukinet(
    *,
    actor: Any,
    client: Any,
    address_number: str,
    my_number: str,
    name_kana: str,
    registered_from: date,
) -> Resident:
    """Register a non-resident from the 本人確認情報 a 住基ネット lookup (records.jukinet.JukinetClient)
    returns for ``my_number``; staff add the 振り仮名, which the network does not hold. The lookup is
    recorded (FEED_JUKINET_QUERIED, with its reference and whether anyone was found, never the number)
    whatever its outcome; raises ValidationError when no one has that number, MyNumberError for an
    invalid one (nothing is sent) and records.jukinet.JukinetUnavailable when the network does not answer."""
    from records.models import NonResidentSource

    answer = client.lookup(my_number=my_number, requested_by=actor.get_username())
    with transaction.atomic(), acting_as(actor):
        audit_event_record(event=AuditEvent.FEED_JUKINET_QUERIED, actor=actor, target=actor,
                           data={"reference": answer.reference, "found": answer.person is not None})
    if answer.person is None:
        raise ValidationError({"my_number": "住基ネットに該当する本人確認情報がありません。"}, code="jukinet_not_found")
    person = answer.person
    return non_resident_register(
        actor=actor, address_number=address_number, name=person.name, name_kana=name_kana, sex=person.sex,
        birth_date=person.birth_date, address=person.address, postal_code=person.postal_code,
        registered_from=registered_from, source=NonResidentSource.JUKINET, source_document="住基ネット本人確認情報",
        source_reference=answer.reference, my_number=my_number,
    )
