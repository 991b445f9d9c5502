from tests.factories import VaccinationRecordFactory


def test_record_factory_builds_a_valid_record(db):
    record = VaccinationRecordFactory()
    assert record.pk is not None
    assert record.resident.my_number_masked.startswith("********")
