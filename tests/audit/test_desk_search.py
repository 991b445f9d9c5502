"""The auditor's log search, the entry page and the histories of one resident and one user: each filter
narrows the results, a My Number is never a filter, pages follow each other without gaps, and the
auditor's own reading of residents' entries is itself on record."""

import re
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from accounts.roles import Role
from audit.events import AuditEvent
from audit.models import AuditLogEntry
from audit.selectors import AuditSearchCriteria, audit_entry_page, audit_entry_search
from records.models import Resident, VaccinationRecord
from records.services import vaccination_record_delete, vaccination_record_update
from tests.audit.test_desk_helpers import event_entry, jst, make_entries, view_entry
from tests.factories import ResidentFactory, UserFactory, VaccinationRecordFactory

pytestmark = pytest.mark.django_db

Action = AuditLogEntry.Action
LIST = reverse("audit:entry_list")


@pytest.fixture
def world(auditor_user):
    """Two residents with records (one record later corrected, one deleted), two staff users, views
    from two addresses on known days, and a sign-in event."""
    alice, bob = UserFactory(username="alice", with_role=Role.STAFF), UserFactory(username="bob", with_role=Role.STAFF)
    hanako = ResidentFactory(address_number="7000000001", name="越谷 花子", actor=alice)
    taro = ResidentFactory(address_number="7000000002", name="春日部 太郎", actor=bob)
    kept = VaccinationRecordFactory(resident=hanako, actor=alice)
    gone = VaccinationRecordFactory(resident=hanako, actor=alice, vaccinated_on=kept.vaccinated_on - timedelta(days=30))
    vaccination_record_update(actor=bob, record=kept, data={"fee_yen": 1000})
    vaccination_record_delete(actor=alice, record=gone, reason="二重入力")
    other = VaccinationRecordFactory(resident=taro, actor=bob)
    make_entries([
        view_entry(alice, hanako, jst(2025, 4, 1, 10, 0), remote_addr="198.51.100.10"),
        view_entry(bob, taro, jst(2025, 4, 2, 11, 0), remote_addr="198.51.100.20"),
        view_entry(alice, taro, jst(2025, 4, 3, 12, 0), remote_addr="198.51.100.10"),
        event_entry(bob, AuditEvent.SIGN_IN, jst(2025, 4, 3, 8, 0)),
    ])
    return {"alice": alice, "bob": bob, "hanako": hanako, "taro": taro, "kept": kept, "gone": gone,
            "other": other}


def search(auditor, **criteria) -> list[AuditLogEntry]:
    return list(audit_entry_search(actor=auditor, criteria=AuditSearchCriteria(**criteria)))


def objects(entries) -> set[tuple[str, str]]:
    return {(e.content_type.model, e.object_pk) for e in entries}


def test_no_criteria_lists_everything_newest_first(world, auditor_user):
    entries = search(auditor_user)
    assert len(entries) == AuditLogEntry.objects.count()
    keys = [(e.timestamp, e.seq) for e in entries]
    assert keys == sorted(keys, reverse=True)


def test_by_user(world, auditor_user):
    entries = search(auditor_user, username="alice")
    assert entries and {e.actor for e in entries} == {world["alice"]}
    assert len(entries) < AuditLogEntry.objects.count()
    assert search(auditor_user, username="nobody") == []


def test_by_resident_includes_their_records_even_deleted_ones(world, auditor_user):
    entries = search(auditor_user, address_number="7000000001")
    found = objects(entries)
    hanako, kept, gone = world["hanako"], world["kept"], world["gone"]
    assert ("resident", str(hanako.pk)) in found
    assert ("vaccinationrecord", str(kept.pk)) in found
    assert ("vaccinationrecord", str(gone.pk)) in found  # deleted: found through its deletion entry
    assert not found & {("resident", str(world["taro"].pk)), ("vaccinationrecord", str(world["other"].pk))}
    deleted = [e for e in entries if e.action == Action.DELETE]
    assert [e.object_pk for e in deleted] == [str(gone.pk)]
    # Every entry of those objects, and nothing else.
    resident_ct = ContentType.objects.get_for_model(Resident)
    record_ct = ContentType.objects.get_for_model(VaccinationRecord)
    expected = AuditLogEntry.objects.filter(content_type=resident_ct, object_pk=str(hanako.pk)).count() + \
        AuditLogEntry.objects.filter(content_type=record_ct, object_pk__in=[str(kept.pk), str(gone.pk)]).count()
    assert len(entries) == expected


def test_by_action_and_by_event_code(world, auditor_user):
    assert {e.action for e in search(auditor_user, action="access")} == {Action.ACCESS}
    assert {e.action for e in search(auditor_user, action="delete")} == {Action.DELETE}
    assert {e.action for e in search(auditor_user, action="update")} == {Action.UPDATE}
    assert {e.action for e in search(auditor_user, action="create")} == {Action.CREATE}
    signed_in = search(auditor_user, action=AuditEvent.SIGN_IN)
    assert [(e.event, e.actor) for e in signed_in] == [(AuditEvent.SIGN_IN, world["bob"])]


def test_by_date_range_in_tokyo_days(world, auditor_user):
    from datetime import date

    entries = search(auditor_user, date_from=date(2025, 4, 2), date_to=date(2025, 4, 2))
    assert [(e.actor, e.object_pk) for e in entries] == [(world["bob"], str(world["taro"].pk))]
    # 2025-04-03 08:00 JST is 2025-04-02 23:00 UTC: still the 3rd for the auditor.
    third = search(auditor_user, date_from=date(2025, 4, 3), date_to=date(2025, 4, 3))
    assert {e.event or e.object_pk for e in third} == {AuditEvent.SIGN_IN, str(world["taro"].pk)}


def test_by_remote_address(world, auditor_user):
    entries = search(auditor_user, remote_addr="198.51.100.10")
    assert len(entries) == 2 and {e.remote_addr for e in entries} == {"198.51.100.10"}


def test_criteria_combine(world, auditor_user):
    entries = search(auditor_user, username="alice", address_number="7000000002", action="access")
    assert [(e.actor, e.object_pk, e.action) for e in entries] == [
        (world["alice"], str(world["taro"].pk), Action.ACCESS)
    ]


def test_search_page_filters_through_the_form(world, auditor_user, client_for):
    client = client_for(auditor_user)
    response = client.get(LIST, {"username": "bob", "date_from": "令和7年4月2日", "date_to": "R7.4.2"})
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r["entry"].object_pk for r in rows] == [str(world["taro"].pk)]
    assert "春日部 太郎" in response.content.decode()


@pytest.mark.parametrize("field", ["username", "address_number", "remote_addr", "date_from", "action"])
@pytest.mark.parametrize("value", ["123456789018", "1234 5678 9018", "1234-5678-9018", "１２３４５６７８９０１８"])
def test_a_twelve_digit_filter_is_refused_not_searched(world, auditor_user, client_for, field, value):
    client = client_for(auditor_user)
    before = AuditLogEntry.objects.count()
    response = client.get(LIST, {field: value})
    # Not searched: nothing shown, so nothing written; and the answer leads away from the URL holding it.
    assert response.status_code == 302 and response["Location"] == LIST
    assert AuditLogEntry.objects.count() == before
    page = client.get(response["Location"])
    html = page.content.decode()
    assert "12桁の数字は検索条件に使用できません" in html
    # Nor masked ("********9018"); a bare "9018" may be an id on the page once the sequences pass 9,018.
    assert value not in html and "123456789018" not in html and "*9018" not in html
    assert not page.context["form"].is_bound


def test_eleven_and_thirteen_digits_are_not_my_numbers(world, auditor_user, client_for):
    client = client_for(auditor_user)
    for value in ("12345678901", "1234567890123"):
        response = client.get(LIST, {"address_number": value})
        assert "12桁の数字は検索条件に使用できません" not in response.content.decode()
        assert "この宛名番号の宛名はありません" in response.content.decode()


def test_unknown_user_and_invalid_values_are_explained(world, auditor_user, client_for):
    client = client_for(auditor_user)
    html = client.get(LIST, {"username": "nobody"}).content.decode()
    assert "この利用者IDの利用者はいません" in html
    html = client.get(LIST, {"remote_addr": "not-an-address"}).content.decode()
    assert "有効なIPアドレス" in html or "IPv4" in html or "IP" in html
    html = client.get(LIST, {"date_from": "2025-04-05", "date_to": "2025-04-01"}).content.decode()
    assert "開始日が終了日より後" in html


def test_pages_follow_each_other_without_gap_or_overlap(auditor_user, client_for):
    actor = UserFactory(username="busy", with_role=Role.STAFF)
    resident = ResidentFactory()
    start = jst(2025, 5, 1, 9, 0)
    # 120 views, some sharing an instant, so the (timestamp, seq) cursor is exercised.
    make_entries([view_entry(actor, resident, start + timedelta(minutes=i // 3)) for i in range(120)])
    criteria = AuditSearchCriteria(username="busy")
    pages = [audit_entry_page(actor=auditor_user, criteria=criteria)]
    while pages[-1].older_cursor is not None:
        pages.append(audit_entry_page(actor=auditor_user, criteria=criteria, before=pages[-1].older_cursor))
    assert [len(p.entries) for p in pages] == [50, 50, 20]
    seen = [e.seq for p in pages for e in p.entries]
    assert len(seen) == len(set(seen)) == 120
    assert seen == [e.seq for e in audit_entry_search(actor=auditor_user, criteria=criteria)]
    assert pages[0].newer_cursor is None and pages[1].newer_cursor is not None
    back = audit_entry_page(actor=auditor_user, criteria=criteria, after=pages[2].newer_cursor)
    assert [e.seq for e in back.entries] == [e.seq for e in pages[1].entries]
    # Through the page's links too.
    client = client_for(auditor_user)
    first = client.get(LIST, {"username": "busy"})
    older = first.context["links"]["older"]
    assert older.startswith(LIST + "?") and "username=busy" in older
    second = client.get(older)
    assert [r["entry"].seq for r in second.context["rows"]] == [e.seq for e in pages[1].entries]


def test_list_records_the_residents_it_shows(world, auditor_user, client_for):
    client = client_for(auditor_user)
    response = client.get(LIST, {"address_number": "7000000002"})
    assert response.status_code == 200
    resident_ct = ContentType.objects.get_for_model(Resident)
    recorded = AuditLogEntry.objects.filter(actor=auditor_user, action=Action.ACCESS, content_type=resident_ct)
    assert [e.object_pk for e in recorded] == [str(world["taro"].pk)]
    assert recorded[0].additional_data == {"view": "audit:entry_list", "permission": "audit.view_auditlogentry"}


def test_entry_detail_shows_every_field_and_the_changes_table(world, auditor_user, client_for):
    record_ct = ContentType.objects.get_for_model(VaccinationRecord)
    entry = AuditLogEntry.objects.get(content_type=record_ct, object_pk=str(world["kept"].pk), action=Action.UPDATE)
    response = client_for(auditor_user).get(reverse("audit:entry_detail", args=[entry.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    for text in (str(entry.seq), entry.entry_hash, entry.prev_hash, "委託料", "3520", "1000", "bob",
                 "内容はハッシュと一致"):
        assert text in html, text
    assert re.search(
        r'<th scope="row">委託料 <span class="muted mono">fee_yen</span></th><td>3520</td><td>1000</td>', html
    )
    # The record's resident has been shown (their data is in the diff): on record.
    assert AuditLogEntry.objects.filter(actor=auditor_user, action=Action.ACCESS,
                                        object_pk=str(world["hanako"].pk)).count() == 1


def test_entry_detail_shows_a_diff_written_in_bulk_as_text_once_as_a_table(world, auditor_user, client_for):
    """An import's CREATE entries keep their diff in changes_text: the page shows it as the table, and
    not a second time as raw text."""
    from audit.chain import json_text
    from audit.services import audit_entries_bulk_write

    record = world["other"]
    diff = json_text({"fee_yen": ["None", "4321"], "resident": ["None", str(record.resident_id)]})
    audit_entries_bulk_write(actor=auditor_user, action=Action.CREATE, model=VaccinationRecord, count=1,
                             entries=iter([(str(record.pk), record.pk, str(record), diff)]))
    entry = AuditLogEntry.objects.order_by("-seq").first()
    assert entry.changes is None and entry.changes_text == diff
    html = client_for(auditor_user).get(reverse("audit:entry_detail", args=[entry.pk])).content.decode()
    assert re.search(r'<th scope="row">委託料 <span class="muted mono">fee_yen</span></th>'
                     r"<td>None</td><td>4321</td>", html)
    assert "内容はハッシュと一致" in html
    assert '["None","4321"]' not in html and "[&quot;None&quot;" not in html


def test_entry_detail_flags_an_entry_that_no_longer_matches_its_hash(world, auditor_user, client_for):
    from tests.audit.test_chain import tamper

    entry = AuditLogEntry.objects.filter(action=Action.ACCESS).first()
    tamper("UPDATE audit_auditlogentry SET object_repr = %s WHERE seq = %s", ["forged", entry.seq])
    html = client_for(auditor_user).get(reverse("audit:entry_detail", args=[entry.pk])).content.decode()
    assert "内容がハッシュと一致しません" in html


def test_resident_history(world, auditor_user, client_for):
    hanako = world["hanako"]
    response = client_for(auditor_user).get(reverse("audit:resident_history", args=[hanako.pk]))
    assert response.status_code == 200
    shown = objects(r["entry"] for r in response.context["rows"])
    assert shown == {("resident", str(hanako.pk)), ("vaccinationrecord", str(world["kept"].pk)),
                     ("vaccinationrecord", str(world["gone"].pk))}
    assert "7000000001" in response.content.decode()
    # One access entry: the history of this one resident was shown.
    recorded = AuditLogEntry.objects.filter(actor=auditor_user, action=Action.ACCESS)
    assert [(e.object_pk, e.additional_data["view"]) for e in recorded] == [(str(hanako.pk), "audit:resident_history")]


def test_user_history_shows_what_they_did_and_what_was_done_to_them(world, auditor_user, client_for):
    bob = world["bob"]
    make_entries([event_entry(auditor_user, AuditEvent.ROLE_GRANTED, jst(2025, 3, 1, 9, 0)) | {"target": bob}])
    response = client_for(auditor_user).get(reverse("audit:user_history", args=[bob.pk]))
    assert response.status_code == 200
    assert {r["entry"].actor for r in response.context["rows"]} == {bob}
    about = [r["entry"] for r in response.context["about_rows"]]
    assert [e.event for e in about if e.event] == [AuditEvent.ROLE_GRANTED]
    assert [(e.timestamp, e.seq) for e in about] == sorted(((e.timestamp, e.seq) for e in about), reverse=True)
    assert {(e.content_type.model, e.object_pk) for e in about} == {("user", str(bob.pk))}
    assert {e.action for e in about if not e.event} <= {Action.CREATE, Action.UPDATE}
    assert all(e.actor != bob for e in about)


def test_missing_objects_are_404(auditor_user, client_for):
    client = client_for(auditor_user)
    for name in ("audit:entry_detail", "audit:resident_history", "audit:user_history"):
        assert client.get(reverse(name, args=[999999])).status_code == 404
