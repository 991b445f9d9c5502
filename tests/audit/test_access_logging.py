"""Every access recorded (issue #4, acceptance 1): crawling, as a staff user, every page and API endpoint
that shows personal data leaves exactly one read-access entry per resident shown (a search one per
resident listed, written in one INSERT), plus one for the record on the pages about one record; no audit
entry holds a My Number, and the chain still verifies.

The crawl starts from the URLconf (tests.urlmap.all_urls), so it covers new URLs without editing: every URL
staff reach through a records permission (the residents' and their records' pages and endpoints) must be
visited with real objects below, and every other URL is fetched too — with its sample arguments, as
staff — and must show none of the seeded residents nor record an access to them. (Other apps' pages
about their own objects, such as an import, record their own access entries and are tested there.)"""

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.access import view_policy
from audit.chain import chain_verify
from audit.models import AuditLogEntry
from records.crypto import decrypt_my_number
from records.models import Resident, VaccinationRecord
from records.permissions import (
    ADD_RECORD,
    CHANGE_RECORD,
    DELETE_RECORD,
    REVEAL_MY_NUMBER,
    VIEW_RECORD,
    VIEW_RESIDENT,
)
from records.rules.mynumber import mask_my_number
from tests.factories import ResidentFactory, VaccinationRecordFactory, VaccineFactory
from tests.urlmap import all_urls

pytestmark = pytest.mark.django_db

CRAWLER_ADDR = "198.51.100.7"
PURPOSE = "本人確認のため"
# The audit writer inserts with INSERT, or with COPY on PostgreSQL (audit.chain.chain_and_copy_rows).
AUDIT_INSERT = ('INSERT INTO "audit_auditlogentry"', 'COPY "audit_auditlogentry"')


@dataclass
class World:
    a: Resident
    b: Resident
    c: Resident
    other: Resident  # never matches the search
    record: VaccinationRecord  # one of a's two records
    residents: list[Resident] = field(default_factory=list)


@pytest.fixture
def world(db) -> World:
    a = ResidentFactory(name="巡回 一郎", name_kana="ジュンカイ　イチロウ", address_number="770000001",
                        birth_date=date(1950, 5, 5), phone="048-000-0001")
    b = ResidentFactory(name="巡回 二郎", name_kana="ジュンカイ　ジロウ", address_number="770000002")
    c = ResidentFactory(name="巡回 三子", name_kana="ジュンカイ　ミツコ", address_number="770000003")
    other = ResidentFactory(name="別人 花子", name_kana="ベツジン　ハナコ", address_number="770000009")
    record = VaccinationRecordFactory(resident=a, vaccinated_on=date(2025, 11, 10), remarks1="巡回用の備考")
    VaccinationRecordFactory(resident=a, vaccinated_on=date(2025, 12, 1), vaccine=VaccineFactory(code="FLU02"))
    VaccinationRecordFactory(resident=b, vaccinated_on=date(2025, 11, 20))
    return World(a=a, b=b, c=c, other=other, record=record, residents=[a, b, c, other])


@dataclass(frozen=True)
class Visit:
    """One request of the crawl and what it shows: ``shows(world)`` are the objects each owed exactly one
    read-access entry, ``permission`` the permission that made the URL reachable."""

    url_name: str
    method: str
    args: Callable[[World], list[int]]
    shows: Callable[[World], list[Model]]
    permission: str
    body: dict[str, Any] | None = None
    api: bool = False
    purpose: str = ""


def none(w: World) -> list[int]:
    return []


VISITS = [
    Visit("records:resident_search", "post", none, lambda w: [w.a, w.b, w.c], VIEW_RESIDENT,
          body={"kana": "ジュンカイ"}),
    Visit("records:resident_detail", "get", lambda w: [w.a.pk], lambda w: [w.a], VIEW_RESIDENT),
    Visit("records:record_create", "get", lambda w: [w.a.pk], lambda w: [w.a], ADD_RECORD),
    Visit("records:record_update", "get", lambda w: [w.record.pk], lambda w: [w.a, w.record], CHANGE_RECORD),
    Visit("records:record_delete", "get", lambda w: [w.record.pk], lambda w: [w.a, w.record], DELETE_RECORD),
    Visit("records:protected_reason", "get", lambda w: [w.a.pk], lambda w: [w.a], VIEW_RESIDENT),
    Visit("records:my_number_reveal", "get", lambda w: [w.a.pk], lambda w: [w.a], REVEAL_MY_NUMBER),
    Visit("records:my_number_reveal", "post", lambda w: [w.b.pk], lambda w: [w.b], REVEAL_MY_NUMBER,
          body={"purpose": PURPOSE}, purpose=PURPOSE),
    Visit("api:resident_search", "post", none, lambda w: [w.a, w.b, w.c], VIEW_RESIDENT,
          body={"kana": "ジュンカイ"}, api=True),
    Visit("api:resident_detail", "get", lambda w: [w.a.pk], lambda w: [w.a], VIEW_RESIDENT, api=True),
    Visit("api:resident_records", "get", lambda w: [w.a.pk], lambda w: [w.a], VIEW_RECORD, api=True),
    Visit("api:record_detail", "get", lambda w: [w.record.pk], lambda w: [w.a, w.record], VIEW_RECORD, api=True),
    Visit("api:resident_my_number", "post", lambda w: [w.c.pk], lambda w: [w.c], REVEAL_MY_NUMBER,
          body={"purpose": PURPOSE}, api=True, purpose=PURPOSE),
    # Linkage (#6): the query page of one resident (its list of bodies fails here: no server runs).
    Visit("linkage:query_start", "get", lambda w: [w.a.pk], lambda w: [w.a], "linkage.add_exchange"),
    # Eligibility (#5): one resident's eligibility page, and the certificate form listing their doses.
    Visit("eligibility:resident", "get", lambda w: [w.a.pk], lambda w: [w.a], "eligibility.add_eligibilitydecision"),
    Visit("eligibility:certificate_issue", "get", lambda w: [w.a.pk],
          lambda w: [w.a, *VaccinationRecord.objects.filter(resident=w.a)], VIEW_RECORD),
]


def request(client: Client, visit: Visit, world: World) -> Any:
    url = reverse(visit.url_name, args=visit.args(world))
    if visit.method == "get":
        return client.get(url, REMOTE_ADDR=CRAWLER_ADDR)
    if visit.api:
        return client.post(url, data=json.dumps(visit.body), content_type="application/json",
                           REMOTE_ADDR=CRAWLER_ADDR)
    return client.post(url, visit.body, REMOTE_ADDR=CRAWLER_ADDR)


def last_seq() -> int:
    return AuditLogEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def access_since(seq: int) -> list[AuditLogEntry]:
    return list(AuditLogEntry.objects.filter(seq__gt=seq, action=AuditLogEntry.Action.ACCESS).order_by("seq"))


def key(obj: Model) -> tuple[int, str]:
    return ContentType.objects.get_for_model(obj).pk, str(obj.pk)


def audit_inserts(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith(AUDIT_INSERT)]


def personal_markers(world: World) -> list[str]:
    """Strings that can only come from a seeded resident: names, readings, address numbers, My Numbers
    in full and masked."""
    markers = []
    for resident in world.residents:
        number = decrypt_my_number(resident.my_number_ciphertext)
        markers += [resident.name, resident.name_kana, resident.address_number, number, mask_my_number(number)]
    return markers


def my_numbers(world: World) -> list[str]:
    return [decrypt_my_number(r.my_number_ciphertext) for r in world.residents]


# Reached through a records permission but showing no one: a form that registers a new person (its GET
# shows an empty form; its POST redirects to the new person's page, which is visited). Fetched with the
# other URLs below, where it must show none of the residents and record no access.
SHOWS_NO_ONE = {"records:non_resident_register"}


def test_the_crawl_covers_every_url_staff_reach_by_a_records_permission(staff_user):
    """Independent of the visits: every URL whose view (or any of its per-method operations) staff reach by
    a records permission shows or changes residents' data, so it must be visited."""
    reached_by_records = set()
    for sample in all_urls():
        operations = getattr(sample.callback, "operations", None) or {"": sample.callback}
        for operation in operations.values():
            permission = view_policy(operation)[1] or ""
            if permission.startswith("records.") and staff_user.has_perm(permission):
                reached_by_records.add(sample.name)
    assert reached_by_records >= SHOWS_NO_ONE
    assert reached_by_records - SHOWS_NO_ONE == {v.url_name for v in VISITS if v.permission.startswith("records.")}


def test_crawling_as_staff_leaves_one_entry_per_resident_shown(world, staff_user, client_for):
    client = client_for(staff_user)
    visited: set[str] = set()
    for visit in VISITS:
        before = last_seq()
        with CaptureQueriesContext(connection) as queries:
            response = request(client, visit, world)
        assert response.status_code == 200, (visit.url_name, visit.method, response.status_code)
        entries = access_since(before)
        expected = [key(obj) for obj in visit.shows(world)]
        assert Counter((e.content_type_id, e.object_pk) for e in entries) == Counter(expected), visit
        for entry in entries:
            assert entry.actor == staff_user
            assert entry.remote_addr == CRAWLER_ADDR
            wanted = {"view": visit.url_name, "permission": visit.permission}
            assert entry.additional_data == ({**wanted, "purpose": visit.purpose} if visit.purpose else wanted)
        # All the entries of a response in one statement (a reveal adds its own event: one more).
        assert len(audit_inserts(queries)) == (2 if visit.purpose else 1), visit
        visited.add(visit.url_name)

    # Everything else in the URLconf is fetched as well, and shows none of the residents.
    markers = personal_markers(world)
    others = [s for s in all_urls() if s.name not in visited]
    assert others, "the URLconf has pages beyond the visits"
    resident_type = ContentType.objects.get_for_model(Resident).pk
    for sample in others:
        before = last_seq()
        response = client.get(sample.path, REMOTE_ADDR=CRAWLER_ADDR)
        body = b"".join(response) if response.streaming else response.content
        text = body.decode("utf-8", errors="replace")
        assert not [m for m in markers if m in text], sample.name
        assert [e for e in access_since(before) if e.content_type_id == resident_type] == [], sample.name
    # Still signed in: no GET above ended the session, so the pages were really seen as staff.
    assert client.get(reverse("records:resident_search")).status_code == 200

    # No audit entry holds a My Number, in full or any 8 consecutive digits of it.
    blobs = [
        json.dumps([e.changes, e.changes_text, e.object_repr, e.additional_data, e.serialized_data],
                   ensure_ascii=False)
        for e in AuditLogEntry.objects.all()
    ]
    assert len(blobs) > 30
    for number in my_numbers(world):
        slices = {number[i:i + 8] for i in range(len(number) - 7)}
        assert not [s for s in slices for blob in blobs if s in blob]

    report = chain_verify()
    assert report.ok, report.reason


@pytest.mark.parametrize("api", [False, True], ids=["page", "api"])
def test_a_search_writes_its_entries_in_one_insert(world, staff_client, api):
    visit = next(v for v in VISITS if v.url_name == ("api" if api else "records") + ":resident_search")
    before = last_seq()
    with CaptureQueriesContext(connection) as queries:
        assert request(staff_client, visit, world).status_code == 200
    assert len(access_since(before)) == 3
    assert len(audit_inserts(queries)) == 1


def test_a_search_with_no_match_writes_nothing(world, staff_client):
    before = last_seq()
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.post(reverse("records:resident_search"), {"kana": "ソンザイシナイ"})
    assert response.status_code == 200 and response.context["residents"] == []
    assert access_since(before) == [] and audit_inserts(queries) == []


def test_a_truncated_search_records_only_the_rows_shown(world, staff_client, monkeypatch):
    monkeypatch.setattr("records.selectors.SEARCH_LIMIT", 2)
    before = last_seq()
    response = staff_client.post(reverse("records:resident_search"), {"kana": "ジュンカイ"})
    shown = response.context["residents"]
    assert response.context["truncated"] and len(shown) == 2
    assert {e.object_pk for e in access_since(before)} == {str(r.pk) for r in shown}


def test_an_api_search_records_only_its_page(world, staff_client):
    before = last_seq()
    response = staff_client.post(reverse("api:resident_search"), data={"kana": "ジュンカイ", "limit": 1, "offset": 1},
                                 content_type="application/json")
    body = response.json()
    assert body["count"] == 3 and len(body["results"]) == 1
    assert [e.object_pk for e in access_since(before)] == [str(body["results"][0]["id"])]


@pytest.mark.parametrize(
    ("url_name", "args", "data", "shows"),
    [
        ("records:record_create", lambda w: [w.a.pk], {"vaccinated_on": "不正"}, lambda w: [w.a]),
        ("records:record_update", lambda w: [w.record.pk], {"vaccinated_on": "不正"}, lambda w: [w.a, w.record]),
        ("records:record_delete", lambda w: [w.record.pk], {"reason": ""}, lambda w: [w.a, w.record]),
        ("records:my_number_reveal", lambda w: [w.a.pk], {"purpose": ""}, lambda w: [w.a]),
    ],
    ids=["create", "update", "delete", "reveal"],
)
def test_a_form_shown_again_is_an_access_again(world, staff_client, url_name, args, data, shows):
    before = last_seq()
    response = staff_client.post(reverse(url_name, args=args(world)), data)
    assert response.status_code == 200 and response.context["form"].errors
    assert Counter((e.content_type_id, e.object_pk) for e in access_since(before)) == Counter(
        key(o) for o in shows(world))


def test_a_write_that_redirects_shows_nothing_and_adds_no_access_entry(world, staff_client):
    before = last_seq()
    response = staff_client.post(reverse("records:record_delete", args=[world.record.pk]), {"reason": "二重登録"})
    assert response.status_code == 302
    assert access_since(before) == []
    assert AuditLogEntry.objects.filter(seq__gt=before, action=AuditLogEntry.Action.DELETE).count() == 1


def test_an_empty_history_still_records_the_resident(world, staff_client):
    before = last_seq()
    response = staff_client.get(reverse("api:resident_records", args=[world.c.pk]))
    assert response.json()["results"] == []
    assert [e.object_pk for e in access_since(before)] == [str(world.c.pk)]


def test_a_missing_resident_records_nothing(world, staff_client):
    before = last_seq()
    assert staff_client.get(reverse("records:resident_detail", args=[world.other.pk + 999])).status_code == 404
    assert staff_client.get(reverse("api:resident_detail", args=[world.other.pk + 999])).status_code == 404
    assert access_since(before) == []


def test_the_switch_turns_access_logging_off(world, staff_client, settings):
    settings.AUDIT_ACCESS_LOGGING = False
    before = last_seq()
    assert staff_client.get(reverse("records:resident_detail", args=[world.a.pk])).status_code == 200
    assert staff_client.post(reverse("records:resident_search"), {"kana": "ジュンカイ"}).status_code == 200
    assert access_since(before) == []
    settings.AUDIT_ACCESS_LOGGING = True
    assert staff_client.get(reverse("records:resident_detail", args=[world.a.pk])).status_code == 200
    assert len(access_since(before)) == 1
