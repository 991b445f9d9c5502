"""Reads of clinic imports, their row errors and the clinic API tokens."""

from collections.abc import Collection
from datetime import date
from typing import Any, NamedTuple

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import F, QuerySet

from imports.models import ClinicApiToken, ClinicImport, ImportRowError
from imports.permissions import (
    VIEW_IMPORT,
    can_view_api_tokens,
    can_view_import,
    can_view_row_errors,
    is_clinic_bound,
)
from koshigaya_vax.pgcopy import array_literal
from records.models import Clinic, Resident, VaccinationRecord, Vaccine

# --- The import engine: bulk reads while processing a file (no actor: the import was scoped to its ----
# --- clinic when it was received, and nothing read here is shown to anyone) ---------------------------


class ResidentIdentity(NamedTuple):
    id: int
    address_number: str
    my_number_index: str | None
    kana_key: str
    birth_date: date
    sex: int


_IDENTITY_COLUMNS = ("id", "address_number", "my_number_index", "kana_key", "birth_date", "sex")
_SQLITE_BATCH = 2000  # well under SQLite's limit on query parameters


def import_resident_identities(
    *, address_numbers: Collection[str], my_number_indexes: Collection[str]
) -> list[ResidentIdentity]:
    """Residents with any of the address numbers or My Number blind indexes, only the columns that
    identify a person: one query on PostgreSQL however many keys (one scan of the residents, each row
    tested against both key sets, which PostgreSQL hashes), a query per 2,000 keys elsewhere."""
    found: dict[int, ResidentIdentity] = {}
    if connection.vendor == "postgresql":
        if not address_numbers and not my_number_indexes:
            return []
        quote = connection.ops.quote_name
        table = quote(Resident._meta.db_table)
        columns = ", ".join(quote(c) for c in _IDENTITY_COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {columns} FROM {table} WHERE {quote('address_number')} = ANY(%s::text[]) "  # noqa: S608
                f"OR {quote('my_number_index')} = ANY(%s::text[])",
                [array_literal(address_numbers), array_literal(my_number_indexes)],
            )
            return [ResidentIdentity(*row) for row in cursor.fetchall()]
    lookups = (("address_number__in", list(address_numbers)), ("my_number_index__in", list(my_number_indexes)))
    for field, keys in lookups:
        for start in range(0, len(keys), _SQLITE_BATCH):
            rows = Resident.objects.filter(**{field: keys[start:start + _SQLITE_BATCH]}).values_list(
                *_IDENTITY_COLUMNS
            ).order_by()
            found.update((row[0], ResidentIdentity(*row)) for row in rows)
    return list(found.values())


def import_existing_events(
    *, resident_ids: Collection[int], first_day: date, last_day: date
) -> set[tuple[int, date, int, int]]:
    """(resident, 接種日, vaccine, 診察区分) of the records already held for these residents between the
    two dates: the key of records.VaccinationRecord's one-record-per-event constraint."""
    if not resident_ids:
        return set()
    rows = VaccinationRecord.objects.filter(
        resident_id__in=list(resident_ids), vaccinated_on__range=(first_day, last_day)
    ).values_list("resident_id", "vaccinated_on", "vaccine_id", "examination_category").order_by()
    return set(rows)


def import_clinic_ids_by_code() -> dict[str, int]:
    return dict(Clinic.objects.values_list("code", "id").order_by())


def import_vaccine_ids_by_code() -> dict[str, int]:
    return dict(Vaccine.objects.values_list("code", "id").order_by())


# --- Pages, API and inbox: imports scoped to the actor ----------------------------------------------


def clinic_import_list(*, actor: Any) -> QuerySet[ClinicImport]:
    """The imports the actor may see, newest first: a clinic user (or clinic token) its own clinic's only,
    staff and auditors every clinic's. Raises PermissionDenied without the view permission."""
    if not actor.has_perm(VIEW_IMPORT):
        raise PermissionDenied
    qs = ClinicImport.objects.select_related("clinic", "uploaded_by", "api_token")
    if is_clinic_bound(actor):
        clinic_id = getattr(actor, "clinic_id", None)
        return qs.filter(clinic_id=clinic_id) if clinic_id is not None else qs.none()
    return qs


def clinic_import_get(*, actor: Any, pk: int) -> ClinicImport:
    """One import, if the actor may see it. An import of another clinic raises ClinicImport.DoesNotExist,
    exactly like a missing one (a clinic learns nothing about other clinics' imports)."""
    return clinic_import_list(actor=actor).get(pk=pk)


def import_row_error_list(*, actor: Any, clinic_import: ClinicImport) -> QuerySet[ImportRowError]:
    """The import's row errors in row order (row, column, code, Japanese message: never a cell's value)."""
    if not can_view_row_errors(actor, clinic_import):
        raise PermissionDenied
    return clinic_import.row_errors.order_by("row_number", "id")


def import_visible_to(*, actor: Any, clinic_import: ClinicImport) -> bool:
    """Whether the actor may open the given import (e.g. the earlier import a duplicate refusal names)."""
    return can_view_import(actor, clinic_import)


def clinic_api_token_list(*, actor: Any) -> QuerySet[ClinicApiToken]:
    """Every clinic API token, active ones first, for the administrators' page (hashes are never read)."""
    if not can_view_api_tokens(actor):
        raise PermissionDenied
    return (ClinicApiToken.objects.select_related("clinic", "created_by", "revoked_by")
            .defer("key_hash")
            .order_by(F("revoked_at").desc(nulls_first=True), "clinic__code", "-created_at"))
