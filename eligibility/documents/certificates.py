"""Certificate of vaccination (接種済証) issued at the counter from a resident's page.

What it lists: every record of an actual vaccination (予診のみ excluded) of the person, doses received
before moving in included, optionally limited to one vaccine; each dose is numbered within its vaccine
in date order. The table always has at least ``MIN_SLOTS`` rows so the unused ones can be struck
through with "＊" — nobody can write a dose into an empty row by hand.

Who: the staff who may read vaccination records (``records.view_vaccinationrecord``): issuing the
certificate shows exactly those records, nothing more. A protected person's (支援措置) certificate is
issued too — it is handed over, not mailed — and the page says so; as for viewing such a person's full
record, the issuer gives a reason, kept in the audit trail.

Audit: the PDF is rendered first (seconds; no lock held), then one transaction records the business
event (``eligibility.certificate_issued``: record ids, dose count, slots, vaccine filter, whether the
person is protected, the reason given) and the read access to the resident and each record listed. Only then are the
bytes returned: a certificate that was not recorded never leaves the server.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.events import AuditEvent
from audit.services import audit_access_record, audit_event_record
from eligibility.documents.data import CertificateData, DoseLine
from eligibility.documents.render import render_certificate
from records.models import ExaminationCategory, Resident, VaccinationRecord, Vaccine
from records.permissions import VIEW_RECORD

ISSUE_CERTIFICATE = VIEW_RECORD
MIN_SLOTS = 6


def can_issue_certificate(user: Any) -> bool:
    return bool(user.has_perm(ISSUE_CERTIFICATE))


def certificate_record_list(*, actor: Any, resident: Resident, vaccine: Vaccine | None = None,
                            ) -> list[VaccinationRecord]:
    """The records a certificate lists, oldest first."""
    if not can_issue_certificate(actor):
        raise PermissionDenied
    qs = resident.vaccinations.filter(examination_category=ExaminationCategory.VACCINATED)
    if vaccine is not None:
        qs = qs.filter(vaccine=vaccine)
    return list(qs.select_related("clinic", "vaccine").order_by("vaccinated_on", "id"))


def certificate_vaccines(*, actor: Any, resident: Resident) -> list[Vaccine]:
    """The vaccines the person has received (the choices of the vaccine filter)."""
    if not can_issue_certificate(actor):
        raise PermissionDenied
    ids = resident.vaccinations.filter(examination_category=ExaminationCategory.VACCINATED).values("vaccine_id")
    return list(Vaccine.objects.filter(id__in=ids).order_by("code"))


def dose_lines(records: Sequence[VaccinationRecord]) -> list[DoseLine]:
    """One line per record, in the order given (oldest first), numbered within each vaccine."""
    seen: Counter[int] = Counter()
    lines = []
    for record in records:
        seen[record.vaccine_id] += 1
        if record.clinic is not None:
            place = record.clinic.name
        else:
            place = _("%(place)s（転入前）") % {"place": record.place_text}
        lines.append(DoseLine(
            dose_number=seen[record.vaccine_id], vaccinated_on=record.vaccinated_on,
            vaccine_name=record.vaccine.name, lot_number=record.lot_number, clinic_name=place,
        ))
    return lines


def certificate_data_build(*, resident: Resident, records: Sequence[VaccinationRecord], issued_on: date,
                           ) -> CertificateData:
    address = " ".join(part for part in (resident.address, resident.address_detail) if part)
    return CertificateData(
        name=resident.name, name_kana=resident.name_kana, birth_date=resident.birth_date,
        postal_code=resident.postal_code, address=address, doses=dose_lines(records),
        slots=max(MIN_SLOTS, len(records)), issued_on=issued_on,
    )


@dataclass(frozen=True)
class IssuedCertificate:
    pdf: bytes
    filename: str
    dose_count: int


def certificate_issue(*, actor: Any, resident: Resident, view: str, vaccine: Vaccine | None = None,
                      purpose: str = "", issued_on: date | None = None) -> IssuedCertificate:
    """Render the certificate and record its issue. Raises ValidationError when there is no dose to
    certify or a protected person's certificate has no reason, PermissionDenied when the actor may not
    read the records."""
    purpose = purpose.strip()
    records = certificate_record_list(actor=actor, resident=resident, vaccine=vaccine)
    if resident.is_protected and not purpose:
        raise ValidationError(
            {"purpose": _("支援措置の対象者の接種済証を発行するときは、理由を入力してください。")},
            code="purpose_required",
        )
    if not records:
        raise ValidationError(
            _("接種の記録がないため、接種済証を発行できません。") if vaccine is None
            else _("選択したワクチンの接種記録がないため、接種済証を発行できません。"),
            code="no_doses",
        )
    data = certificate_data_build(resident=resident, records=records,
                                  issued_on=issued_on or timezone.localdate())
    pdf = render_certificate(data)
    with transaction.atomic():
        audit_event_record(
            event=AuditEvent.CERTIFICATE_ISSUED, actor=actor, target=resident,
            data={
                "records": [r.pk for r in records], "doses": len(records), "slots": data.slots,
                "vaccine": vaccine.pk if vaccine is not None else None, "protected": resident.is_protected,
                "issued_on": data.issued_on.isoformat(), "view": view, **({"purpose": purpose} if purpose else {}),
            },
        )
        audit_access_record(actor=actor, objects=[resident, *records], view=view, permission=ISSUE_CERTIFICATE,
                            purpose=purpose)
    return IssuedCertificate(
        pdf=pdf, filename=f"certificate-{resident.pk}-{data.issued_on:%Y%m%d}.pdf", dose_count=len(records),
    )
