import base64
import os

import pytest
from django.core.management import call_command

from audit.events import AuditEvent
from audit.models import AuditLogEntry
from records.crypto import decrypt_my_number, is_encrypted_with_current_key
from records.models import Resident
from tests.factories import ResidentFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_rotation_re_encrypts_everything_and_is_recorded(settings):
    old_keys = list(settings.MY_NUMBER_KEYS)
    residents = [ResidentFactory() for _ in range(5)]
    numbers = {r.pk: decrypt_my_number(r.my_number_ciphertext) for r in residents}
    new_key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    settings.MY_NUMBER_KEYS = [new_key, *old_keys]
    admin = UserFactory(username="rotator", with_role="administrator")

    call_command("rekey_my_numbers", "--actor", "rotator", "--batch-size", "2")

    settings.MY_NUMBER_KEYS = [new_key]  # the old key can now be dropped
    for resident in Resident.objects.all():
        assert is_encrypted_with_current_key(resident.my_number_ciphertext)
        assert decrypt_my_number(resident.my_number_ciphertext) == numbers[resident.pk]
    events = AuditLogEntry.objects.filter(event=AuditEvent.MY_NUMBER_REKEYED, actor=admin)
    assert sum(e.additional_data["count"] for e in events) == 5
    # A second run finds nothing left to do.
    call_command("rekey_my_numbers", "--actor", "rotator")
    assert AuditLogEntry.objects.filter(event=AuditEvent.MY_NUMBER_REKEYED).count() == events.count()
