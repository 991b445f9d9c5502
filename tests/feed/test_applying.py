"""Applying a change file: acceptance 1 (the right residency periods, "resident on D" around each
boundary, an out-of-order change placed correctly) and 4 (bad rows reported per row, valid rows apply),
summary columns, creation by birth and move-in, My Numbers, audit entries."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from audit.events import AuditEvent
from audit.models import AuditLogEntry
from imports.models import FeedStatus
from records.crypto import decrypt_my_number, my_number_blind_index
from records.models import NonResidentSource, ResidencyPeriod, ResidencyStatus, Resident
from records.rules.residency import is_resident_on, status_on
from tests.feed.helpers import (
    change,
    feed_staff,
    new_my_number,
    periods_of,
    receive,
    receive_and_process,
    resident,
)

pytestmark = pytest.mark.django_db
D = date


def test_acceptance_1_move_out_death_move_in_and_out_of_order_address_change():
    leaving = resident("200001")
    dying = resident("200002", name="越谷　太郎", name_kana="コシガヤ　タロウ", sex=1)
    moving = resident("200003", name="蒲生　一郎", name_kana="ガモウ　イチロウ", sex=1)
    feed = receive_and_process([
        change("move_out", "2025-06-01", "200001", address="東京都千代田区1-1", postal="100-0001"),
        change("death", "令和7年7月15日", "200002", name="越谷　太郎", kana="コシガヤ　タロウ", sex="1"),
        change("move_in", "20250801", "300001", name="転入　次郎", kana="テンニュウ　ジロウ", birth="1990-01-02",
               sex="1", address="埼玉県越谷市南越谷2-2"),
        # the later address change first, then an older one arriving after it
        change("address_change", "2025-09-01", "200003", name="蒲生　一郎", kana="ガモウ　イチロウ", sex="1",
               address="越谷市C"),
        change("address_change", "2025/05/01", "200003", name="蒲生　一郎", kana="ガモウ　イチロウ", sex="1",
               address="越谷市B"),
    ])
    assert feed.status == FeedStatus.APPLIED
    assert (feed.rows_total, feed.rows_applied, feed.rows_error, feed.residents_created) == (5, 5, 0, 1)

    periods = periods_of(leaving)
    assert is_resident_on(periods, D(2025, 5, 31))
    assert not is_resident_on(periods, D(2025, 6, 1))
    leaving.refresh_from_db()
    assert (leaving.residency_status, leaving.moved_out_on) == (ResidencyStatus.MOVED_OUT, D(2025, 6, 1))
    assert (leaving.address, leaving.postal_code) == ("東京都千代田区1-1", "100-0001")

    periods = periods_of(dying)
    assert is_resident_on(periods, D(2025, 7, 14))
    assert status_on(periods, D(2025, 7, 15)) == ResidencyStatus.DECEASED
    dying.refresh_from_db()
    assert (dying.residency_status, dying.died_on) == (ResidencyStatus.DECEASED, D(2025, 7, 15))

    arrived = Resident.objects.get(address_number="300001")
    periods = periods_of(arrived)
    assert status_on(periods, D(2025, 7, 31)) is None
    assert is_resident_on(periods, D(2025, 8, 1))
    assert (arrived.residency_status, arrived.moved_in_on) == (ResidencyStatus.RESIDENT, D(2025, 8, 1))
    assert (arrived.name, arrived.name_kana, arrived.birth_date, arrived.sex) == (
        "転入　次郎", "テンニュウ　ジロウ", D(1990, 1, 2), 1)

    moving.refresh_from_db()
    periods = periods_of(moving)
    assert [(p.valid_from, p.valid_until, p.address) for p in periods] == [
        (D(1980, 4, 1), D(2025, 5, 1), "埼玉県越谷市越ヶ谷1-1"),
        (D(2025, 5, 1), D(2025, 9, 1), "越谷市B"),
        (D(2025, 9, 1), None, "越谷市C"),
    ]
    assert moving.address == "越谷市C"  # the latest change's address, not the one that arrived last


def test_out_of_order_change_in_a_later_file_is_placed_and_keeps_current_items():
    person = resident("200010")
    receive_and_process([change("address_change", "2025-09-01", "200010", address="越谷市新", name="越谷　花子")],
                        name="a.csv")
    receive_and_process([change("address_change", "2025-03-01", "200010", address="越谷市旧", name="旧姓　花子")],
                        name="b.csv")
    person.refresh_from_db()
    assert (person.address, person.name) == ("越谷市新", "越谷　花子")
    rows = list(ResidencyPeriod.objects.filter(resident=person).order_by("valid_from").values_list(
        "valid_from", "valid_until", "address", "cause"))
    assert rows == [
        (D(1980, 4, 1), D(2025, 3, 1), "埼玉県越谷市越ヶ谷1-1", "initial"),
        (D(2025, 3, 1), D(2025, 9, 1), "越谷市旧", "address_change"),
        (D(2025, 9, 1), None, "越谷市新", "address_change"),
    ]


def test_move_out_and_back_in_clears_the_move_out_date():
    person = resident("200020")
    receive_and_process([change("move_out", "2024-04-01", "200020", address="大阪府"),
                         change("move_in", "2025-04-01", "200020", address="越谷市戻り")])
    person.refresh_from_db()
    assert (person.residency_status, person.moved_in_on, person.moved_out_on) == (
        ResidencyStatus.RESIDENT, D(2025, 4, 1), None)
    periods = periods_of(person)
    assert not is_resident_on(periods, D(2025, 3, 31))
    assert is_resident_on(periods, D(2025, 4, 1))


def test_birth_creates_the_resident_with_my_number_and_name_change_updates():
    my_number = new_my_number()
    feed = receive_and_process([
        change("birth", "2025-05-05", "400001", name="越谷　赤子", kana="こしがや　あかこ", birth="2025-05-05",
               my_number=my_number),
        change("name_change", "2025-06-01", "400001", name="越谷　赤美", kana="ｺｼｶﾞﾔ ｱｶﾐ", birth="2025-05-05"),
    ])
    assert (feed.rows_applied, feed.residents_created) == (2, 1)
    baby = Resident.objects.get(address_number="400001")
    assert (baby.name, baby.name_kana, baby.kana_key) == ("越谷　赤美", "コシガヤ　アカミ", "コシガヤアカミ")
    assert decrypt_my_number(baby.my_number_ciphertext) == my_number
    assert baby.my_number_index == my_number_blind_index(my_number)
    periods = periods_of(baby)
    assert status_on(periods, D(2025, 5, 4)) is None
    assert is_resident_on(periods, D(2025, 5, 5))
    assert [p.cause for p in periods] == ["birth", "name_change"]


def test_acceptance_4_bad_rows_are_reported_per_row_and_valid_rows_apply():
    person = resident("200030")
    other = resident("200031", name="別人　花子")
    feed = receive_and_process([
        change("address_change", "2025-05-01", "999999", address="X"),  # row 2: unknown 宛名番号
        change("address_change", "2025-13-01", "200030", address="X"),  # row 3: invalid date
        change("address_change", "2025-05-01", "200030", address="X", my_number="123456789012"),  # 4: check digit
        change("address_change", "2025-06-01", "200030", address="越谷市正"),  # row 5: valid
        change("move_in", "2025-06-01", "500001", my_number=decrypt_my_number(other.my_number_ciphertext)),  # row 6
        change("99", "2025-06-01", "200030"),  # row 7: unknown kind
        change("move_out", (timezone.localdate() + timedelta(days=3)).isoformat(), "200030"),  # row 8: future
        change("birth", "2025-06-01", "200031", birth="2025-06-01"),  # row 9: birth for a known number
        change("address_change", "2025-06-01", "200030", kana="山田"),  # row 10: kana
        ["05", "2025-06-01", "200030"],  # row 11: column count
    ])
    assert feed.status == FeedStatus.APPLIED
    assert (feed.rows_total, feed.rows_applied, feed.rows_error) == (10, 1, 9)
    errors = {(e.row_number, e.column, e.code) for e in feed.row_errors.all()}
    assert (2, "宛名番号", "resident_unknown") in errors
    assert any(n == 3 and c == "異動日" for n, c, _ in errors)
    assert any(n == 4 and c == "個人番号" for n, c, _ in errors)
    assert (6, "個人番号", "my_number_taken") in errors
    assert (7, "異動区分", "kind_invalid") in errors
    assert (8, "異動日", "date_future") in errors
    assert (9, "宛名番号", "birth_known") in errors
    assert (10, "氏名カナ", "kana_invalid") in errors
    assert (11, "", "column_count") in errors
    assert not {n for n, _, _ in errors} & {5}
    person.refresh_from_db()
    assert person.address == "越谷市正"
    assert not Resident.objects.filter(address_number__in=["999999", "500001"]).exists()
    for error in feed.row_errors.all():  # messages never repeat values
        assert "999999" not in error.message and "X" not in error.message


def test_a_rejected_creating_row_does_not_let_later_rows_create_the_person():
    taken = resident("200040")
    receive_and_process([
        change("move_in", "2025-06-01", "600001", my_number=decrypt_my_number(taken.my_number_ciphertext)),
        change("address_change", "2025-07-01", "600001", address="越谷市"),
    ])
    assert not Resident.objects.filter(address_number="600001").exists()


def test_change_after_death_is_refused_but_correction_applies():
    person = resident("200050")
    feed = receive_and_process([
        change("death", "2025-03-01", "200050"),
        change("address_change", "2025-04-01", "200050", address="越谷市後"),
        change("correction", "2025-04-01", "200050", address="越谷市（訂正）"),
    ])
    assert [(e.row_number, e.code) for e in feed.row_errors.all()] == [(3, "after_death")]
    person.refresh_from_db()
    assert (person.residency_status, person.died_on, person.address) == (
        ResidencyStatus.DECEASED, D(2025, 3, 1), "越谷市（訂正）")


def test_a_different_my_number_needs_a_correction():
    person = resident("200060")
    new = new_my_number()
    feed = receive_and_process([change("address_change", "2025-04-01", "200060", my_number=new)])
    assert [e.code for e in feed.row_errors.all()] == ["my_number_differs"]
    receive_and_process([change("address_change", "2025-06-01", "200060", address="越谷市後")], name="b.csv")
    # a correction dated before the person's latest change still corrects the number, not the address
    feed = receive_and_process([change("correction", "2025-04-02", "200060", my_number=new)], name="c.csv")
    assert feed.rows_applied == 1
    person.refresh_from_db()
    assert decrypt_my_number(person.my_number_ciphertext) == new
    assert person.address == "越谷市後"


def test_audit_entries_for_bulk_writes_and_one_event_per_file():
    person = resident("200070")
    my_number = new_my_number()
    receive_and_process([
        change("address_change", "2025-04-01", "200070", address="越谷市監査"),
        change("birth", "2025-05-05", "400070", birth="2025-05-05", my_number=my_number),
    ])
    events = AuditLogEntry.objects.filter(event=AuditEvent.FEED_APPLIED)
    assert events.count() == 1
    assert events.get().additional_data["rows_applied"] == 2
    updated = AuditLogEntry.objects.get(object_pk=str(person.pk), action=AuditLogEntry.Action.UPDATE,
                                        content_type__model="resident")
    assert updated.changes_dict["address"] == ["埼玉県越谷市越ヶ谷1-1", "越谷市監査"]
    # one entry per person, holding the periods written for them: the derived initial one and the new one
    assert updated.changes_dict["residency_periods"] == [
        "None", f"1980-04-01–2025-04-01 resident {person.postal_code} 埼玉県越谷市越ヶ谷1-1 (initial); "
                "2025-04-01– resident 343-0001 越谷市監査 (address_change)"]
    assert events.get().additional_data["audit_entries"] == 1 + 1  # the file's entries come just before it
    baby = Resident.objects.get(address_number="400070")
    created = AuditLogEntry.objects.get(object_pk=str(baby.pk), action=AuditLogEntry.Action.CREATE,
                                        content_type__model="resident")
    assert created.changes_dict["my_number_ciphertext"] == ["********", "********"]
    assert created.changes_dict["residency_periods"] == [
        "None", "2025-05-05– resident 343-0001 埼玉県越谷市越ヶ谷1-1 (birth)"]
    assert my_number not in created.changes_text
    assert not AuditLogEntry.objects.filter(content_type__model="residencyperiod").exists()
    for entry in AuditLogEntry.objects.all():
        assert my_number not in str(entry.changes) + entry.changes_text + str(entry.additional_data)


def test_redelivered_rows_in_a_new_file_leave_the_same_history():
    person = resident("200080")
    rows = [change("move_out", "2025-06-01", "200080", address="東京都")]
    receive_and_process(rows, name="1.csv")
    first = periods_of(person)
    again = receive_and_process([*rows, change("correction", "2025-01-01", "200080")], name="2.csv")  # other bytes
    assert again.rows_applied == 2
    assert periods_of(person) == first
    assert ResidencyPeriod.objects.filter(resident=person).count() == 2


def test_received_file_waits_and_processing_is_idempotent():
    resident("200090")
    feed = receive([change("address_change", "2025-04-01", "200090", address="越谷市一")])
    from imports.feed import resident_feed_process

    once = resident_feed_process(feed_id=feed.pk)
    twice = resident_feed_process(feed_id=feed.pk)
    assert once.status == twice.status == FeedStatus.APPLIED
    assert AuditLogEntry.objects.filter(event=AuditEvent.FEED_APPLIED).count() == 1


def test_the_per_row_memos_hold_no_names_or_dates_once_a_file_is_done(monkeypatch):
    from imports.feed import applying, layout

    resident("200901", name="越谷　太郎", name_kana="コシガヤ　タロウ", sex=1)
    seen: dict[str, int] = {}

    def spy(*args, **kwargs):  # the memos while the file is being applied: filled
        seen.update(parse=layout._parse_date.cache_info().currsize, kana=layout._normalize_kana.cache_info().currsize)
        return original(*args, **kwargs)

    original = applying._apply
    monkeypatch.setattr(applying, "_apply", spy)
    feed = receive_and_process([
        change("address_change", "2025-06-01", "200901", name="越谷　太郎", kana="コシガヤ　タロウ", sex="1"),
        change("address_change", "2025-06-01", "999999", name="越谷　太郎", kana="コシガヤ　タロウ", sex="1"),
    ])
    assert (feed.status, feed.rows_applied, feed.rows_error) == (FeedStatus.APPLIED, 1, 1)
    assert seen["parse"] >= 2 and seen["kana"] >= 1
    assert Resident.objects.get(address_number="200901").kana_key == "コシガヤタロウ"
    for memo in (layout._parse_date, layout._normalize_kana, layout._keys):
        assert memo.cache_info().currsize == 0


def test_the_entries_of_a_files_writes_name_it_and_come_just_before_its_event():
    """The entries of a file's writes name the file, and they are the ``audit_entries`` entries right
    before its feed.applied event, the chain's head being locked from the first of them to the commit."""
    person = resident("200075")
    resident("200076")  # written before the file: not among its entries
    feed = receive_and_process([
        change("move_out", "2025-06-01", "200075", address="東京都"),
        change("move_in", "2025-06-02", "300075", address="越谷市新"),
    ])
    event = AuditLogEntry.objects.get(event=AuditEvent.FEED_APPLIED, object_pk=str(feed.pk))
    count = event.additional_data["audit_entries"]
    data = event.additional_data
    assert count == data["residents_created"] + data["residents_updated"] == 1 + 1
    assert (data["periods_created"], data["periods_updated"]) == (3, 0)  # in the people's entries
    before = list(AuditLogEntry.objects.filter(seq__gte=event.seq - count, seq__lt=event.seq).order_by("seq"))
    assert [e.seq for e in before] == list(range(event.seq - count, event.seq))
    arrived = Resident.objects.get(address_number="300075")
    assert {(e.content_type.model, e.object_pk, e.action) for e in before} == {
        ("resident", str(arrived.pk), AuditLogEntry.Action.CREATE),
        ("resident", str(person.pk), AuditLogEntry.Action.UPDATE),
    }
    assert all(e.actor == feed.uploaded_by and e.additional_data == {"feed_file": feed.pk} for e in before)


def test_a_persons_entry_holds_the_periods_the_file_wrote_as_they_were_and_are():
    """The file's entry for a person lists the periods it added or changed (under residency_periods, the
    periods' relation): a stored period it changes appears before and after; one it only adds, after."""
    person = resident("200077", moved_in_on=D(2001, 2, 3))
    receive_and_process([change("move_out", "2025-06-01", "200077", address='東京都"港区"\\1', postal="105-0001")],
                        name="1.csv")
    entry = AuditLogEntry.objects.filter(content_type__model="resident", object_pk=str(person.pk)).latest("seq")
    held = f"{person.postal_code} 埼玉県越谷市越ヶ谷1-1"
    assert entry.changes_dict["residency_periods"] == [
        "None", f"2001-02-03–2025-06-01 resident {held} (initial); "
                '2025-06-01– moved_out 105-0001 東京都"港区"\\1 (move_out)']
    # a later file: an address change before the move-out splits the stored initial period
    receive_and_process([change("address_change", "2020-01-01", "200077", address="越谷市中町")], name="2.csv")
    entry = AuditLogEntry.objects.filter(content_type__model="resident", object_pk=str(person.pk)).latest("seq")
    assert entry.action == AuditLogEntry.Action.UPDATE
    assert entry.changes_dict == {"residency_periods": [
        f"2001-02-03–2025-06-01 resident {held} (initial)",
        f"2001-02-03–2020-01-01 resident {held} (initial); "
        "2020-01-01–2025-06-01 resident 343-0001 越谷市中町 (address_change)"]}  # the current fields did not change
    assert entry.object_repr == str(person)


def test_a_protected_persons_history_in_a_file_entry_is_withheld_like_their_address(admin_user):
    from audit.reports import entry_change_rows, entry_row

    person = resident("200079")
    Resident.objects.filter(pk=person.pk).update(is_protected=True)
    receive_and_process([change("move_out", "2025-06-01", "200079", address="東京都港区1", postal="105-0001")])
    entry = AuditLogEntry.objects.filter(content_type__model="resident", object_pk=str(person.pk)).latest("seq")
    rows = {row.field: row for row in entry_change_rows(entry)}
    assert rows["residency_periods"].label == "住民期間"
    assert "東京都港区1" in rows["residency_periods"].after
    masked = entry_row(entry, mask_address=True)["changes"]
    assert "住民期間" in masked and "港区" not in masked and "105-0001" not in masked


def test_a_persons_period_entries_are_in_their_audit_history_and_kept_while_they_are_held():
    """The auditor's resident history and the disclosure document (audit_entries_about_resident) list the
    entries of the person's residency periods (a registration's own; a file's are in the person's entry);
    an audit purge, however far it looks, keeps them (and those of the person's records, deleted ones
    included) while the person is under a hold."""
    from audit.selectors import audit_entries_about_resident
    from records.services import non_resident_register, vaccination_record_delete
    from retention.classes import AuditEntries
    from tests.factories import VaccinationRecordFactory

    person = non_resident_register(
        actor=feed_staff(), address_number="200078", name="越谷　花子", name_kana="コシガヤ　ハナコ", sex=2,
        birth_date=D(1980, 4, 1), address="東京都港区1", registered_from=D(2024, 4, 1), source=NonResidentSource.PAPER,
        source_document="接種済証")
    registered = ResidencyPeriod.objects.get(resident=person)
    record = VaccinationRecordFactory(resident=person)
    receive_and_process([change("move_in", "2025-06-01", "200078", address="越谷市中町")])
    assert ResidencyPeriod.objects.filter(resident=person).count() == 2
    history = list(audit_entries_about_resident(resident_id=person.pk))
    assert {e.object_pk for e in history if e.content_type.model == "residencyperiod"} == {str(registered.pk)}
    filed = [e for e in history if "feed_file" in (e.additional_data or {})]
    assert "越谷市中町" in filed[0].changes_dict["residency_periods"][1]
    assert {e.object_pk for e in history if e.content_type.model == "vaccinationrecord"} == {str(record.pk)}

    gone = VaccinationRecordFactory(resident=person, vaccinated_on=record.vaccinated_on - timedelta(days=40))
    vaccination_record_delete(actor=gone.created_by, record=gone, reason="二重入力")
    history = list(audit_entries_about_resident(resident_id=person.pk))
    assert str(gone.pk) in {e.object_pk for e in history if e.action == AuditLogEntry.Action.DELETE}
    cutoff = date(2200, 1, 1)
    kept = set(AuditEntries().due_ids(cutoff=cutoff, held=set())) - set(
        AuditEntries().due_ids(cutoff=cutoff, held={person.pk}))
    assert kept == {e.seq for e in history}


def test_diff_text_is_what_json_text_makes_of_it():
    from audit.chain import json_text
    from imports.feed.applying import _history_diff, changes_json
    from records.rules.residency import Period

    changes = {"name": ['越谷"\\\t花子', "x\ny"], "address": ["None", "越谷市"], "sex": ["1", "2"],
               "my_number_index": ["********", "********"]}
    assert changes_json(changes) == json_text(changes)
    assert changes_json({}) == json_text({})
    periods = [Period("resident", D(2025, 1, 2), None, "", "", ""),
               Period("moved_out", D(2025, 1, 2), D(2025, 3, 4), '住所"\\\t', "343-0001", "move_out")]
    history = {"residency_periods": _history_diff(periods[:1], periods)}
    assert history["residency_periods"] == [
        "2025-01-02– resident ()",
        '2025-01-02– resident (); 2025-01-02–2025-03-04 moved_out 343-0001 住所"\\\t (move_out)']
    assert changes_json(history) == json_text(history)


def test_free_text_with_tabs_backslashes_and_quotes_is_stored_as_sent():
    """COPY's text format escapes: names and addresses reach the tables unchanged (PostgreSQL path)."""
    person = resident("200078")
    name, address = "越谷\\\t花子", '越谷市"A"\\B'
    receive_and_process([
        change("address_change", "2025-06-01", "200078", name=name, address=address),
        change("birth", "2025-06-02", "400078", name=name, birth="2025-06-02", address=address),
    ])
    person.refresh_from_db()
    baby = Resident.objects.get(address_number="400078")
    assert (person.name, person.address, baby.name, baby.address) == (name, address, name, address)
    assert set(ResidencyPeriod.objects.filter(resident__in=[person, baby], valid_from__gte=D(2025, 6, 1))
               .values_list("address", flat=True)) == {address}


def test_an_updated_residents_copy_line_has_every_field_a_change_sets():
    from imports.feed.applying import _RESIDENT_LINE_FIELDS, RESIDENT_FIELDS

    assert (*RESIDENT_FIELDS, "updated_at") == _RESIDENT_LINE_FIELDS
