"""Every model that holds personal data or grants access, registered with django-auditlog in one place.
My Number's ciphertext and blind index are masked completely (audit.masking)."""

from auditlog.registry import auditlog
from django.contrib.auth import get_user_model

MY_NUMBER_FIELDS = ["my_number_ciphertext", "my_number_index"]


def register_audited_models() -> None:
    from accounts.models import AccessReview, BackupCodeDevice, RoleGrant
    from imports.models import ClinicApiToken
    from records.models import Clinic, ResidencyPeriod, Resident, VaccinationRecord, Vaccine
    from rights.models import (
        CorrectionRequest,
        DisclosureDocument,
        DisclosureRequest,
        ProtectionChange,
        ReceptionTicket,
        SuspensionRequest,
    )

    auditlog.register(
        Resident,
        mask_fields=MY_NUMBER_FIELDS,
        exclude_fields=["kana_key", "name_key", "updated_at", "vaccinations", "residency_periods"],
    )
    auditlog.register(VaccinationRecord, exclude_fields=["updated_at"])
    auditlog.register(ResidencyPeriod, exclude_fields=["updated_at"])
    auditlog.register(Clinic, exclude_fields=["updated_at"])
    auditlog.register(Vaccine, exclude_fields=["updated_at"])
    auditlog.register(
        get_user_model(),
        exclude_fields=["password", "last_login"],
        m2m_fields={"groups", "user_permissions"},
    )
    auditlog.register(RoleGrant, exclude_fields=["updated_at"])
    auditlog.register(AccessReview, exclude_fields=["updated_at"], m2m_fields={"users"})
    auditlog.register(ClinicApiToken, exclude_fields=["updated_at", "key_hash", "last_used_at"])
    auditlog.register(BackupCodeDevice, exclude_fields=["throttling_failure_timestamp",
                                                        "throttling_failure_count"])
    # Residents' rights (#7): tickets, requests and the protection flag's history.
    for model in (ReceptionTicket, DisclosureRequest, DisclosureDocument, CorrectionRequest, SuspensionRequest,
                  ProtectionChange):
        auditlog.register(model, exclude_fields=["updated_at"])
