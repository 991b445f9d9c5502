"""Every model that holds personal data or grants access, registered with django-auditlog in one place.
My Number's ciphertext and blind index are masked completely (audit.masking)."""

from auditlog.registry import auditlog
from django.contrib.auth import get_user_model

MY_NUMBER_FIELDS = ["my_number_ciphertext", "my_number_index"]


def register_audited_models() -> None:
    from accounts.models import AccessReview, BackupCodeDevice, RoleGrant
    from eligibility.models import (
        Campaign,
        CampaignRule,
        EligibilityCheck,
        EligibilityDecision,
        NoticeItem,
        PriorityGroupMembership,
        Ticket,
    )
    from imports.models import ClinicApiToken
    from linkage.models import Exchange, InboundQuery, LinkageResult, ProvisionRecord
    from records.models import (
        Clinic,
        NonResidentRegistration,
        ResidencyPeriod,
        Resident,
        VaccinationRecord,
        Vaccine,
    )
    from retention.models import LegalHold, PurgeReport, RetentionPolicy
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
    auditlog.register(NonResidentRegistration, exclude_fields=["updated_at"])
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
    auditlog.register(Exchange, exclude_fields=["updated_at"])
    auditlog.register(LinkageResult, exclude_fields=["updated_at", "payload_ciphertext"])
    auditlog.register(InboundQuery, exclude_fields=["updated_at", "reply_key"])
    auditlog.register(ProvisionRecord)
    auditlog.register(BackupCodeDevice, exclude_fields=["throttling_failure_timestamp",
                                                        "throttling_failure_count"])
    # Retention (#8): policies and holds; a report's approval and run (its batches write business events).
    auditlog.register(RetentionPolicy, exclude_fields=["updated_at"])
    auditlog.register(LegalHold, exclude_fields=["updated_at"])
    auditlog.register(PurgeReport, exclude_fields=["updated_at"])
    # Residents' rights (#7): tickets, requests and the protection flag's history.
    for model in (ReceptionTicket, DisclosureRequest, DisclosureDocument, CorrectionRequest, SuspensionRequest,
                  ProtectionChange):
        auditlog.register(model, exclude_fields=["updated_at"])
    # Eligibility (#5). The applicant's My Number is kept only as its blind index, masked like the resident's.
    auditlog.register(Campaign, exclude_fields=["updated_at"])
    auditlog.register(CampaignRule, exclude_fields=["updated_at"], m2m_fields={"vaccines", "priority_groups"})
    auditlog.register(PriorityGroupMembership, exclude_fields=["updated_at"])
    auditlog.register(EligibilityCheck, exclude_fields=["updated_at"], mask_fields=["my_number_index"])
    auditlog.register(EligibilityDecision, exclude_fields=["updated_at"])
    auditlog.register(Ticket, exclude_fields=["updated_at"])
    auditlog.register(NoticeItem)
