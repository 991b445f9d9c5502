"""factory_boy factories. Residents go through the service so My Number is encrypted and indexed the
way production stores it; every My Number is generated, valid and synthetic."""

import random
from datetime import date
from decimal import Decimal

import factory
from django.contrib.auth.models import Group

from accounts.models import User
from accounts.roles import Role
from records.models import Clinic, RecordSource, Resident, Sex, VaccinationRecord, Vaccine
from records.rules.age import legal_age
from records.rules.mynumber import generate_my_number
from records.services import resident_create

_rng = random.Random(20261126)


def new_my_number() -> str:
    return generate_my_number(_rng)


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinic
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"11{n:08d}")
    name = factory.Sequence(lambda n: f"越谷テスト医院{n}")
    address = "埼玉県越谷市越ヶ谷1-1-1"


class VaccineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vaccine
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"V{n:03d}")
    name = factory.Sequence(lambda n: f"新型インフルエンザワクチン{n}")
    maker = "テスト製薬株式会社"
    standard_dose_ml = Decimal("0.50")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery-staple")

    @factory.post_generation
    def with_role(obj, create, extracted, **kwargs):
        role = extracted
        if role is not None:
            obj.groups.add(Group.objects.get(name=str(role)))
            if role == Role.ADMINISTRATOR:
                obj.is_staff = True
        if create:
            obj.save()


class ResidentFactory(factory.Factory):
    """Builds through records.services.resident_create (needs an ``actor``; a system user is made)."""

    class Meta:
        model = Resident

    address_number = factory.Sequence(lambda n: f"{100000 + n}")
    name = factory.Sequence(lambda n: f"越谷 花子{n}")
    name_kana = factory.Sequence(lambda n: "コシガヤ　ハナコ" + "ア" * (n % 5))
    sex = Sex.FEMALE
    birth_date = date(1960, 4, 1)
    address = "埼玉県越谷市東越谷十丁目31番地"
    postal_code = "343-0023"
    my_number = factory.LazyFunction(new_my_number)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        actor = kwargs.pop("actor", None) or UserFactory(username=f"system{_rng.randrange(10**9)}")
        return resident_create(actor=actor, **kwargs)


def record_kwargs(resident: Resident, **overrides) -> dict:
    """Valid keyword arguments for records.services.vaccination_record_create."""
    vaccinated_on = overrides.pop("vaccinated_on", date(2025, 11, 10))
    data = {
        "resident": resident,
        "vaccine": overrides.pop("vaccine") if "vaccine" in overrides else VaccineFactory(code="FLU01"),
        "clinic": overrides.pop("clinic") if "clinic" in overrides else ClinicFactory(code="1100000001"),
        "vaccinated_on": vaccinated_on,
        "age_at_vaccination": overrides.pop("age_at_vaccination", None)
        if "age_at_vaccination" in overrides
        else legal_age(resident.birth_date, vaccinated_on),
        "billing_month": date(vaccinated_on.year, vaccinated_on.month, 1),
        "examination_category": 1,
        "lot_number": "AB12-345",
        "screening_doctor": "予診 一郎",
        "vaccinating_doctor": "接種 次郎",
        "payment_category": 1,
        "fee_yen": 3520,
        "dose_ml": Decimal("0.50"),
        "source": RecordSource.MANUAL,
    }
    data.update(overrides)
    return data


class VaccinationRecordFactory(factory.Factory):
    class Meta:
        model = VaccinationRecord

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from records.services import vaccination_record_create

        resident = kwargs.pop("resident", None) or ResidentFactory()
        actor = kwargs.pop("actor", None) or UserFactory(with_role=Role.STAFF)
        return vaccination_record_create(actor=actor, **record_kwargs(resident, **kwargs))
