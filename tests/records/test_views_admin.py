"""The Django admin manages the clinic and vaccine masters only; residents and vaccination records are
not reachable there (and so neither is any My Number ciphertext or blind index)."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from records.models import Clinic, Resident, VaccinationRecord, Vaccine
from tests.factories import ClinicFactory, ResidentFactory, VaccineFactory


def test_administrators_manage_clinics(client_for, admin_user):
    ClinicFactory(code="1112345678", name="越谷駅前内科クリニック")
    client = client_for(admin_user)
    listing = client.get(reverse("admin:records_clinic_changelist"))
    assert listing.status_code == 200
    assert "越谷駅前内科クリニック" in listing.content.decode()
    response = client.post(
        reverse("admin:records_clinic_add"),
        {"code": "1187654321", "name": "南越谷こども医院", "address": "越谷市南越谷1-1", "is_active": "on"},
    )
    assert response.status_code == 302
    assert Clinic.objects.get(code="1187654321").name == "南越谷こども医院"


def test_administrators_manage_vaccines(client_for, admin_user):
    vaccine = VaccineFactory(code="PFLU1", name="旧名称")
    client = client_for(admin_user)
    response = client.post(
        reverse("admin:records_vaccine_change", args=[vaccine.pk]),
        {
            "code": "PFLU1",
            "name": "沈降新型インフルエンザワクチン",
            "maker": "越谷製薬",
            "standard_dose_ml": "0.50",
        },
    )
    assert response.status_code == 302
    vaccine.refresh_from_db()
    assert (vaccine.name, vaccine.is_active, vaccine.standard_dose_ml) == (
        "沈降新型インフルエンザワクチン",
        False,
        Decimal("0.50"),
    )


def test_masters_cannot_be_deleted_in_the_admin(client_for, admin_user):
    clinic = ClinicFactory()
    response = client_for(admin_user).post(
        reverse("admin:records_clinic_delete", args=[clinic.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert Clinic.objects.filter(pk=clinic.pk).exists()


def test_residents_and_records_are_not_in_the_admin(client_for, admin_user):
    assert admin.site.is_registered(Clinic) and admin.site.is_registered(Vaccine)
    assert not admin.site.is_registered(Resident)
    assert not admin.site.is_registered(VaccinationRecord)
    for name in ("admin:records_resident_changelist", "admin:records_vaccinationrecord_changelist"):
        with pytest.raises(NoReverseMatch):
            reverse(name)
    resident = ResidentFactory()
    html = client_for(admin_user).get(reverse("admin:index")).content.decode()
    assert "records/resident" not in html
    assert resident.my_number_ciphertext not in html
