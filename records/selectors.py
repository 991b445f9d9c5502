"""Reads of residents and vaccination records, always on behalf of an actor."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from records.crypto import my_number_blind_index
from records.models import ResidencyPeriod, Resident, VaccinationRecord
from records.permissions import can_view_resident
from records.rules.kana import kana_key, name_key
from records.rules.mynumber import normalize_my_number
from records.rules.residency import Period

SEARCH_LIMIT = 100


@dataclass(frozen=True)
class ResidentQuery:
    """Search criteria; all given criteria must match. ``my_number`` is matched exactly (blind index),
    ``kana`` as a prefix after normalisation, ``name`` as a substring ignoring spaces and width."""

    address_number: str = ""
    kana: str = ""
    name: str = ""
    birth_date: date | None = None
    my_number: str = ""

    def is_empty(self) -> bool:
        return not (self.address_number or self.kana or self.name or self.birth_date or self.my_number)


def resident_search(*, actor: Any, query: ResidentQuery) -> QuerySet[Resident]:
    """Matching residents, unevaluated and unlimited (callers slice). Raises MyNumberError for an
    invalid My Number so the caller can say why nothing was searched."""
    if not can_view_resident(actor):
        raise PermissionDenied
    qs = Resident.objects.all()
    if query.is_empty():
        return qs.none()
    if query.my_number:
        qs = qs.filter(my_number_index=my_number_blind_index(normalize_my_number(query.my_number)))
    if query.address_number:
        qs = qs.filter(address_number=query.address_number.strip())
    if query.kana:
        qs = qs.filter(kana_key__startswith=kana_key(query.kana))
    if query.name:
        key = name_key(query.name)
        qs = qs.filter(name_key__contains=key) if key else qs
    if query.birth_date:
        qs = qs.filter(birth_date=query.birth_date)
    return qs.order_by("kana_key", "birth_date", "id")


def resident_get(*, actor: Any, pk: int) -> Resident:
    if not can_view_resident(actor):
        raise PermissionDenied
    return Resident.objects.get(pk=pk)


def vaccination_record_list(*, actor: Any, resident: Resident) -> QuerySet[VaccinationRecord]:
    if not can_view_resident(actor):
        raise PermissionDenied
    return resident.vaccinations.select_related(
        "clinic", "vaccine", "created_by", "updated_by", "source_import__uploaded_by",
        "source_import__api_token__created_by",
    ).order_by(
        "-vaccinated_on", "-id"
    )


def vaccination_record_get(*, actor: Any, pk: int) -> VaccinationRecord:
    if not can_view_resident(actor):
        raise PermissionDenied
    return VaccinationRecord.objects.select_related(
        "resident", "clinic", "vaccine", "created_by", "updated_by", "source_import__uploaded_by",
        "source_import__api_token__created_by",
    ).get(pk=pk)


def residency_periods_for(resident_ids: list[int]) -> dict[int, list[Period]]:
    """``{resident_id: [Period, ...]}`` in date order, two queries for any number of residents: the
    stored history where there is one, else the periods implied by the resident's summary columns."""
    stored: dict[int, list[Period]] = {}
    for row in ResidencyPeriod.objects.filter(resident_id__in=resident_ids).order_by("resident_id", "valid_from"):
        stored.setdefault(row.resident_id, []).append(row.as_rule())
    missing = [rid for rid in resident_ids if rid not in stored]
    if missing:
        for resident in Resident.objects.filter(id__in=missing).only(
            "id", "residency_status", "birth_date", "moved_in_on", "moved_out_on", "died_on", "address"
        ):
            stored[resident.id] = resident.derived_periods()
    return stored
