"""The protection flag (支援措置 / DV等): set and cleared by an administrator, with a reason and the
reference of the decision; each change is a ProtectionChange row (the flag's history), a field diff of
the resident and a business event."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from audit.context import acting_as
from audit.events import AuditEvent
from audit.services import audit_event_record
from records.models import Resident
from rights.models import ProtectionAction, ProtectionChange
from rights.permissions import CHANGE_PROTECTION
from rights.services._common import clean_text, require


@transaction.atomic
def protection_flag_change(
    *, actor: Any, resident: Resident, protect: bool, reason: str, reference: str
) -> ProtectionChange:
    require(actor.has_perm(CHANGE_PROTECTION))
    resident = Resident.objects.select_for_update().get(pk=resident.pk)
    if resident.is_protected == protect:
        message = _("既に支援措置対象です。") if protect else _("支援措置対象ではありません。")
        raise ValidationError({"action": message}, code="unchanged")
    change = ProtectionChange(
        resident=resident, resident_address_number=resident.address_number,
        action=ProtectionAction.SET if protect else ProtectionAction.CLEAR,
        reason=clean_text(reason, field="reason", max_length=500),
        reference=clean_text(reference, field="reference", max_length=100), changed_by=actor,
    )
    change.full_clean()
    with acting_as(actor):
        change.save()
        resident.is_protected = protect
        resident.save(update_fields=["is_protected", "updated_at"])
    audit_event_record(
        event=AuditEvent.RIGHTS_PROTECTION_SET if protect else AuditEvent.RIGHTS_PROTECTION_CLEARED,
        actor=actor, target=resident, data={"change": change.pk, "reference": change.reference},
    )
    return change
