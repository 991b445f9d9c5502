"""Reads of the audit log for the auditor's desk: the search, one entry, the histories of a resident and a
user, and the aggregations of the self-inspection report. Every selector takes the actor and refuses
one without the permission (audit.permissions); auditors see the whole log.

Order: newest first by (timestamp, seq). Each of the log's composite indexes (actor + timestamp, content
type + object + timestamp, action + timestamp) then yields rows already in that order, so a first page is
an index range scan that stops after 51 rows, whatever the size of the log. Ordering by seq alone could
use none of them: for a user whose entries are years old, or a date range in the past, PostgreSQL would
walk the seq index backwards over millions of newer rows (benchmarks/audit_search_bench.py measures
both). seq breaks ties between entries of the same instant and is the keyset cursor of the pages.
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Max, Q, QuerySet
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay, ExtractMinute, TruncDate

from audit.events import AuditEvent
from audit.models import AuditLogEntry, deleted_resident_expression
from audit.permissions import can_view_log, can_view_report
from records.models import ResidencyPeriod, Resident, VaccinationRecord

PAGE_SIZE = 50
Action = AuditLogEntry.Action

# The search's "action" filter: an operation, or one business event by its stable code.
OPERATION_FILTERS: dict[str, int] = {
    "create": Action.CREATE,
    "update": Action.UPDATE,
    "delete": Action.DELETE,
    "access": Action.ACCESS,
    "event": Action.EVENT,
}
ACTION_COLUMNS: tuple[str, ...] = tuple(OPERATION_FILTERS)


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day_start(day: date) -> datetime:
    """Midnight at the start of ``day`` in Asia/Tokyo, as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=local_zone())


@dataclass(frozen=True)
class AuditSearchCriteria:
    """All given criteria must match. ``resident_id`` and ``actor_id`` are set by the history pages (and
    carried by their exports); the others come from the search form. None of them is ever a My Number
    (audit.forms refuses 12-digit values)."""

    username: str = ""
    address_number: str = ""
    action: str = ""  # a key of OPERATION_FILTERS or an AuditEvent code
    date_from: date | None = None
    date_to: date | None = None
    remote_addr: str = ""
    resident_id: int | None = None
    actor_id: int | None = None

    def as_query(self) -> dict[str, str]:
        """The criteria as form data (audit.forms.AuditSearchForm field names), empty ones left out."""
        values = {
            "username": self.username,
            "address_number": self.address_number,
            "action": self.action,
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
            "remote_addr": self.remote_addr,
            "resident": str(self.resident_id) if self.resident_id is not None else "",
            "user": str(self.actor_id) if self.actor_id is not None else "",
        }
        return {key: value for key, value in values.items() if value}


@dataclass(frozen=True)
class AuditEntryPage:
    entries: list[AuditLogEntry]
    newer_cursor: int | None = None  # seq of the first entry shown, when newer entries exist
    older_cursor: int | None = None  # seq of the last entry shown, when older entries exist


def _require_log(actor: Any) -> None:
    if not can_view_log(actor):
        raise PermissionDenied


def _require_report(actor: Any) -> None:
    if not can_view_report(actor):
        raise PermissionDenied


def _resident_ct() -> ContentType:
    return ContentType.objects.get_for_model(Resident)


def _record_ct() -> ContentType:
    return ContentType.objects.get_for_model(VaccinationRecord)


def audit_entries_about_residents_q(*, resident_ids: Collection[int]) -> Q:
    """The condition for the residents' own entries, those of their residency periods (the change feed
    writes one per period) and those of every vaccination record of theirs — the records held now, and
    deleted ones, found through their deletion entry (which keeps the record's fields). Periods are only
    ever deleted with the person. For the auditor's history of one resident and for the retention purge,
    which keeps these entries while a person is held. A few queries, keys listed in the condition: meant
    for one person or a handful."""
    keys = sorted({str(pk) for pk in resident_ids})
    if not keys:
        return Q(pk__in=[])
    record_ct = _record_ct()
    held = VaccinationRecord.objects.filter(resident_id__in=keys).order_by().values_list("pk", flat=True)
    # The expression of the partial index audit_deleted_resident_idx, so that index answers.
    deleted = (
        AuditLogEntry.objects.annotate(named_resident=deleted_resident_expression())
        .filter(action=Action.DELETE, named_resident__in=keys, content_type=record_ct)
        .order_by().values_list("object_pk", flat=True)
    )
    record_pks = sorted({str(pk) for pk in held} | set(deleted))
    condition = Q(content_type=_resident_ct(), object_pk__in=keys)
    if record_pks:
        condition |= Q(content_type=record_ct, object_pk__in=record_pks)
    period_pks = [str(pk) for pk in ResidencyPeriod.objects.filter(resident_id__in=keys)
                  .order_by().values_list("pk", flat=True)]
    if period_pks:
        condition |= Q(content_type=ContentType.objects.get_for_model(ResidencyPeriod), object_pk__in=period_pks)
    return condition


def audit_entries_about_resident(*, resident_id: int) -> QuerySet[AuditLogEntry]:
    """Every entry about the resident and their vaccination records (held or deleted), oldest first.
    No actor check: for services that check their own permission (rights' disclosure document, which
    lists a person's access log to the person themselves)."""
    return (
        AuditLogEntry.objects.select_related("actor", "content_type")
        .filter(audit_entries_about_residents_q(resident_ids=[resident_id]))
        .order_by("timestamp", "seq")
    )


def audit_resident_id_for(*, actor: Any, address_number: str) -> int | None:
    _require_log(actor)
    return Resident.objects.filter(address_number=address_number).values_list("pk", flat=True).first()


def audit_user_id_for(*, actor: Any, username: str) -> int | None:
    _require_log(actor)
    return get_user_model().objects.filter(username=username).values_list("pk", flat=True).first()


def audit_resident_get(*, actor: Any, pk: int) -> Resident:
    """The resident whose history is shown (identified the way the log names them: 宛名番号 and name)."""
    _require_log(actor)
    return Resident.objects.only("pk", "address_number", "name").get(pk=pk)


def audit_user_get(*, actor: Any, pk: int) -> Any:
    _require_log(actor)
    return get_user_model().objects.prefetch_related("groups").get(pk=pk)


def audit_entry_search(*, actor: Any, criteria: AuditSearchCriteria) -> QuerySet[AuditLogEntry]:
    """Entries matching ``criteria``, newest first, unevaluated (callers slice or page)."""
    _require_log(actor)
    qs = AuditLogEntry.objects.select_related("actor", "content_type")
    if criteria.username:
        user_id = audit_user_id_for(actor=actor, username=criteria.username)
        if user_id is None:
            return qs.none()
        qs = qs.filter(actor_id=user_id)
    if criteria.actor_id is not None:
        qs = qs.filter(actor_id=criteria.actor_id)
    resident_ids = [criteria.resident_id] if criteria.resident_id is not None else []
    if criteria.address_number:
        found = audit_resident_id_for(actor=actor, address_number=criteria.address_number)
        if found is None:
            return qs.none()
        resident_ids.append(found)
    for resident_id in resident_ids:
        qs = qs.filter(audit_entries_about_residents_q(resident_ids=[resident_id]))
    if criteria.action in OPERATION_FILTERS:
        qs = qs.filter(action=OPERATION_FILTERS[criteria.action])
    elif criteria.action:
        qs = qs.filter(action=Action.EVENT, event=criteria.action)
    if criteria.date_from:
        qs = qs.filter(timestamp__gte=day_start(criteria.date_from))
    if criteria.date_to:
        qs = qs.filter(timestamp__lt=day_start(criteria.date_to + timedelta(days=1)))
    if criteria.remote_addr:
        qs = qs.filter(remote_addr=criteria.remote_addr)
    return qs.order_by("-timestamp", "-seq")


def audit_entry_page(
    *,
    actor: Any,
    criteria: AuditSearchCriteria,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> AuditEntryPage:
    """One page of the search, by keyset: ``before`` (older than the entry with that seq) or ``after``
    (newer than it), else the newest page. No OFFSET, so page 1,000 costs what page 1 costs."""
    qs = audit_entry_search(actor=actor, criteria=criteria)
    cursor = before if before is not None else after
    anchor = (
        AuditLogEntry.objects.filter(seq=cursor).values_list("timestamp", "seq").first()
        if cursor is not None else None
    )
    if anchor is None:
        rows = list(qs[: size + 1])
        return AuditEntryPage(rows[:size], None, rows[size - 1].seq if len(rows) > size else None)
    stamp, seq = anchor
    if before is not None:
        # (timestamp, seq) < anchor; the redundant bound on timestamp alone lets the index range start there.
        older = qs.filter(timestamp__lte=stamp).filter(Q(timestamp__lt=stamp) | Q(seq__lt=seq))
        rows = list(older[: size + 1])
        shown = rows[:size]
        return AuditEntryPage(shown, shown[0].seq if shown else None,
                              shown[-1].seq if len(rows) > size else None)
    newer = qs.filter(timestamp__gte=stamp).filter(Q(timestamp__gt=stamp) | Q(seq__gt=seq))
    rows = list(newer.order_by("timestamp", "seq")[: size + 1])
    shown = list(reversed(rows[:size]))
    return AuditEntryPage(shown, shown[0].seq if len(rows) > size else None,
                          shown[-1].seq if shown else None)


def audit_entry_get(*, actor: Any, pk: int) -> AuditLogEntry:
    _require_log(actor)
    return AuditLogEntry.objects.select_related("actor", "content_type").get(pk=pk)


def audit_entries_about_user(*, actor: Any, user: Any, limit: int = PAGE_SIZE) -> list[AuditLogEntry]:
    """Entries whose object is the user account itself (creation, roles, deactivation, OTP reset ...)
    written by someone else: the account's side of its history."""
    _require_log(actor)
    return list(
        AuditLogEntry.objects.select_related("actor", "content_type")
        .filter(content_type=ContentType.objects.get_for_model(type(user)), object_pk=str(user.pk))
        .exclude(actor_id=user.pk)
        .order_by("-timestamp", "-seq")[:limit]
    )


def residents_shown(*, entries: Iterable[AuditLogEntry], with_records: bool) -> list[Resident]:
    """The residents whose personal data ``entries`` display: residents' own entries (their name is the
    entry's object), and with ``with_records`` the residents of vaccination-record entries, whose field
    diffs are that resident's data. For the access entries of the auditor's own reading."""
    resident_ct, record_ct = _resident_ct().pk, _record_ct().pk
    resident_ids: set[int] = set()
    record_ids: set[int] = set()
    for entry in entries:
        if not entry.object_pk.isdigit():
            continue
        if entry.content_type_id == resident_ct:
            resident_ids.add(int(entry.object_pk))
        elif with_records and entry.content_type_id == record_ct:
            named = [v for v in (entry.changes_dict.get("resident") or []) if str(v).isdigit()]
            if named:
                resident_ids.update(int(v) for v in named)
            else:
                record_ids.add(int(entry.object_pk))
    if record_ids:
        resident_ids.update(
            VaccinationRecord.objects.filter(pk__in=record_ids).values_list("resident_id", flat=True)
        )
    if not resident_ids:
        return []
    return list(Resident.objects.only("pk", "address_number", "name").filter(pk__in=resident_ids).order_by("pk"))


# --- Self-inspection (維持管理点検) aggregations: each one grouped query, never a loop over entries ---


@dataclass
class UserActivity:
    user_id: int | None
    username: str
    counts: dict[str, int] = field(default_factory=dict)  # by ACTION_COLUMNS
    residents: int = 0  # distinct residents viewed

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def column_counts(self) -> list[int]:
        """The counts in ACTION_COLUMNS order, for tables."""
        return [self.counts.get(key, 0) for key in ACTION_COLUMNS]


@dataclass(frozen=True)
class OffHoursActivity:
    user_id: int
    username: str
    total: int
    weekend: int
    before_start: int
    after_end: int
    days: int
    last: datetime


@dataclass(frozen=True)
class DailyVolume:
    user_id: int
    username: str
    day: date
    residents: int
    entries: int


@dataclass(frozen=True)
class DeniedAttempts:
    user_id: int | None
    username: str
    count: int
    last: datetime


def _period_entries(start: date, end: date) -> QuerySet[AuditLogEntry]:
    return AuditLogEntry.objects.filter(
        timestamp__gte=day_start(start), timestamp__lt=day_start(end + timedelta(days=1))
    )


def _action_key(action: int) -> str:
    return next((key for key, value in OPERATION_FILTERS.items() if value == action), str(action))


def audit_activity_by_user(*, actor: Any, start: date, end: date) -> list[UserActivity]:
    """Entries per user and operation in the period (system entries under an empty name), with the
    number of distinct residents each user viewed; most active first."""
    _require_report(actor)
    entries = _period_entries(start, end)
    rows: dict[int | None, UserActivity] = {}
    grouped = entries.values("actor_id", "actor__username", "action").annotate(n=Count("id")).order_by()
    for row in grouped:
        activity = rows.setdefault(row["actor_id"], UserActivity(row["actor_id"], row["actor__username"] or ""))
        key = _action_key(row["action"])
        activity.counts[key] = activity.counts.get(key, 0) + row["n"]
    viewed = (
        entries.filter(action=Action.ACCESS, content_type=_resident_ct(), actor__isnull=False)
        .values("actor_id").annotate(n=Count("object_pk", distinct=True)).order_by()
    )
    for row in viewed:
        if row["actor_id"] in rows:
            rows[row["actor_id"]].residents = row["n"]
    return sorted(rows.values(), key=lambda a: (-a.total, a.username))


def audit_exports_made(*, actor: Any, start: date, end: date, limit: int = 1000) -> tuple[list[AuditLogEntry], int]:
    """持ち出し履歴: EXPORT_MADE events of the period, oldest first (at most ``limit``), and their number."""
    _require_report(actor)
    qs = _period_entries(start, end).filter(action=Action.EVENT, event=AuditEvent.EXPORT_MADE)
    return list(qs.select_related("actor").order_by("timestamp", "seq")[:limit]), qs.count()


def audit_off_hours_by_user(
    *, actor: Any, start: date, end: date, office_start: time, office_end: time
) -> list[OffHoursActivity]:
    """Entries made by users outside office hours (Asia/Tokyo): before ``office_start``, at or after
    ``office_end``, or on a Saturday or Sunday. Public holidays are not known to the system."""
    _require_report(actor)
    zone = local_zone()
    start_minute = office_start.hour * 60 + office_start.minute
    end_minute = office_end.hour * 60 + office_end.minute
    weekend = Q(local_weekday__gte=6)
    early = ~weekend & Q(local_minute__lt=start_minute)
    late = ~weekend & Q(local_minute__gte=end_minute)
    rows = (
        _period_entries(start, end).filter(actor__isnull=False)
        .annotate(
            local_minute=ExtractHour("timestamp", tzinfo=zone) * 60 + ExtractMinute("timestamp", tzinfo=zone),
            local_weekday=ExtractIsoWeekDay("timestamp", tzinfo=zone),
        )
        .filter(weekend | early | late)
        .values("actor_id", "actor__username")
        .annotate(
            total=Count("id"),
            weekend=Count("id", filter=weekend),
            before_start=Count("id", filter=early),
            after_end=Count("id", filter=late),
            days=Count(TruncDate("timestamp", tzinfo=zone), distinct=True),
            last=Max("timestamp"),
        )
        .order_by("-total", "actor__username")
    )
    return [
        OffHoursActivity(r["actor_id"], r["actor__username"], r["total"], r["weekend"], r["before_start"],
                         r["after_end"], r["days"], r["last"])
        for r in rows
    ]


def audit_unusual_daily_volume(*, actor: Any, start: date, end: date, threshold: int) -> list[DailyVolume]:
    """Days on which a user viewed more than ``threshold`` distinct residents (Asia/Tokyo days)."""
    _require_report(actor)
    zone = local_zone()
    rows = (
        _period_entries(start, end)
        .filter(action=Action.ACCESS, content_type=_resident_ct(), actor__isnull=False)
        .annotate(day=TruncDate("timestamp", tzinfo=zone))
        .values("actor_id", "actor__username", "day")
        .annotate(residents=Count("object_pk", distinct=True), entries=Count("id"))
        .filter(residents__gt=threshold)
        .order_by("-residents", "day", "actor__username")
    )
    return [DailyVolume(r["actor_id"], r["actor__username"], r["day"], r["residents"], r["entries"]) for r in rows]


def audit_denied_attempts(*, actor: Any, start: date, end: date) -> list[DeniedAttempts]:
    """Refused requests (ACCESS_DENIED events) per user in the period."""
    _require_report(actor)
    rows = (
        _period_entries(start, end).filter(action=Action.EVENT, event=AuditEvent.ACCESS_DENIED)
        .values("actor_id", "actor__username").annotate(count=Count("id"), last=Max("timestamp"))
        .order_by("-count", "actor__username")
    )
    return [DeniedAttempts(r["actor_id"], r["actor__username"] or "", r["count"], r["last"]) for r in rows]


def audit_unused_accounts(*, actor: Any, now: datetime, days: int) -> list[Any]:
    """Active accounts not used for ``days`` days: last sign-in before the cut-off, or never signed in
    although registered before it (an account created last week is not yet "unused")."""
    _require_report(actor)
    cutoff = now - timedelta(days=days)
    return list(
        get_user_model().objects.filter(is_active=True)
        .filter(Q(last_login__lt=cutoff) | Q(last_login__isnull=True, date_joined__lt=cutoff))
        .prefetch_related("groups")
        .order_by(F("last_login").asc(nulls_first=True), "username")
    )


def audit_chain_latest_result(*, actor: Any) -> AuditLogEntry | None:
    """The most recent recorded chain verification (nightly job or on demand), passed or failed."""
    _require_report(actor)
    return (
        AuditLogEntry.objects.select_related("actor")
        .filter(action=Action.EVENT, event__in=[AuditEvent.AUDIT_CHAIN_VERIFIED, AuditEvent.AUDIT_CHAIN_BROKEN])
        .order_by("-seq").first()
    )


def audit_period_entry_count(*, actor: Any, start: date, end: date) -> int:
    _require_report(actor)
    return _period_entries(start, end).count()

