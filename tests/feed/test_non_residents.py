"""Registered non-residents (住登外者): staff register one from a paper source; the resident, the period,
the registration and the event are written together; search and the resident page mark them."""

from datetime import date

import pytest
from django.urls import reverse

from audit.events import AuditEvent
from audit.models import AuditLogEntry
from records.crypto import decrypt_my_number
from records.models import NonResidentRegistration, ResidencyPeriod, ResidencyStatus, Resident
from records.rules.residency import NON_RESIDENT, status_on
from records.selectors import residency_periods_for
from tests.factories import new_my_number

pytestmark = pytest.mark.django_db

FORM = {
    "address_number": "880001", "name": "住登外　太郎", "name_kana": "ジュウトウガイ　タロウ", "sex": "1",
    "birth_date": "昭和60年5月1日", "postal_code": "344-0001", "address": "埼玉県春日部市1-1",
    "registered_from": "2025-04-01", "source_document": "住民票の写し（春日部市発行）", "source_reference": "No.12",
}


def test_staff_register_from_paper_and_the_person_is_marked(staff_user, client_for):
    client = client_for(staff_user)
    my_number = new_my_number()
    response = client.post(reverse("records:non_resident_register"), {**FORM, "my_number": my_number})
    person = Resident.objects.get(address_number="880001")
    assert response.status_code == 302
    assert response["Location"] == reverse("records:resident_detail", args=[person.pk])
    assert (person.residency_status, person.birth_date) == (ResidencyStatus.NON_RESIDENT, date(1985, 5, 1))
    assert decrypt_my_number(person.my_number_ciphertext) == my_number
    period = ResidencyPeriod.objects.get(resident=person)
    assert (period.status, period.valid_from, period.cause) == ("non_resident", date(2025, 4, 1),
                                                                "non_resident_registration")
    periods = residency_periods_for([person.pk])[person.pk]
    assert status_on(periods, date(2025, 3, 31)) is None
    assert status_on(periods, date(2025, 4, 1)) == NON_RESIDENT
    registration = NonResidentRegistration.objects.get()
    assert (registration.source, registration.source_document, registration.registered_by) == (
        "paper", "住民票の写し（春日部市発行）", staff_user)
    event = AuditLogEntry.objects.get(event=AuditEvent.FEED_NON_RESIDENT_REGISTERED)
    assert event.actor == staff_user and my_number not in str(event.additional_data)

    detail = client.get(reverse("records:resident_detail", args=[person.pk])).content.decode()
    assert "住登外者" in detail and "住民票の写し（春日部市発行）" in detail
    found = client.post(reverse("records:resident_search"), {"address_number": "880001"}).content.decode()
    assert "status--non_resident" in found and "住登外者" in found


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"registered_from": "1980-01-01"}, "registered_from", "生年月日より前"),
    ({"source_document": ""}, "source_document", "必須"),
    ({"my_number": "123456789012"}, "my_number", "検査用数字"),
])
def test_refusals_are_on_the_field_and_nothing_is_written(staff_user, client_for, change, field, message):
    response = client_for(staff_user).post(reverse("records:non_resident_register"), {**FORM, **change})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert "123456789012" not in response.content.decode()
    assert not Resident.objects.exists() and not NonResidentRegistration.objects.exists()


def test_an_existing_address_number_is_refused(staff_user, client_for):
    from tests.factories import ResidentFactory

    ResidentFactory(address_number="880001")
    response = client_for(staff_user).post(reverse("records:non_resident_register"), FORM)
    assert response.status_code == 200
    assert "address_number" in response.context["form"].errors
    assert not NonResidentRegistration.objects.exists()
    assert not ResidencyPeriod.objects.filter(cause="non_resident_registration").exists()


# --- 住基ネット (mocked through records.jukinet's fake transport) ------------------------------------------


def test_register_from_a_jukinet_lookup(staff_user):
    from records.jukinet import FakeJukinetTransport, JukinetClient, JukinetPerson
    from records.services import non_resident_register_from_jukinet

    my_number = new_my_number()
    transport = FakeJukinetTransport({my_number: JukinetPerson("住基　花子", date(1970, 2, 3), 2, "埼玉県草加市1-1",
                                                               "340-0001")})
    person = non_resident_register_from_jukinet(
        actor=staff_user, client=JukinetClient(transport), address_number="880010", my_number=my_number,
        name_kana="じゅうき　はなこ", registered_from=date(2025, 4, 1),
    )
    assert (person.name, person.name_kana, person.birth_date, person.address) == (
        "住基　花子", "ジュウキ　ハナコ", date(1970, 2, 3), "埼玉県草加市1-1")
    assert person.residency_status == ResidencyStatus.NON_RESIDENT
    registration = NonResidentRegistration.objects.get(resident=person)
    assert (registration.source, registration.source_reference) == ("jukinet", "J000001")
    queried = AuditLogEntry.objects.get(event=AuditEvent.FEED_JUKINET_QUERIED)
    assert queried.additional_data == {"reference": "J000001", "found": True}
    assert my_number not in repr(transport.queries[0])


def test_jukinet_not_found_is_recorded_and_registers_nothing(staff_user):
    from django.core.exceptions import ValidationError

    from records.jukinet import FakeJukinetTransport, JukinetClient
    from records.services import non_resident_register_from_jukinet

    with pytest.raises(ValidationError) as refused:
        non_resident_register_from_jukinet(
            actor=staff_user, client=JukinetClient(FakeJukinetTransport()), address_number="880011",
            my_number=new_my_number(), name_kana="ダレ", registered_from=date(2025, 4, 1),
        )
    assert "住基ネットに該当する本人確認情報がありません" in str(refused.value)
    assert AuditLogEntry.objects.get(event=AuditEvent.FEED_JUKINET_QUERIED).additional_data["found"] is False
    assert not Resident.objects.exists()


def test_jukinet_invalid_number_is_not_sent_and_unavailable_network_writes_nothing(staff_user):
    from records.jukinet import FakeJukinetTransport, JukinetClient, JukinetUnavailable
    from records.rules.mynumber import MyNumberError
    from records.services import non_resident_register_from_jukinet

    transport = FakeJukinetTransport()
    with pytest.raises(MyNumberError):
        non_resident_register_from_jukinet(actor=staff_user, client=JukinetClient(transport), address_number="1",
                                           my_number="123456789012", name_kana="ア", registered_from=date(2025, 4, 1))
    assert transport.queries == []
    with pytest.raises(JukinetUnavailable):
        non_resident_register_from_jukinet(
            actor=staff_user, client=JukinetClient(FakeJukinetTransport(unavailable=True), timeout=2),
            address_number="1", my_number=new_my_number(), name_kana="ア", registered_from=date(2025, 4, 1),
        )
    assert not Resident.objects.exists()
    assert not AuditLogEntry.objects.filter(event=AuditEvent.FEED_JUKINET_QUERIED).exists()
