"""State changes of rights: tickets, requests, the disclosure document and the protection flag."""

from rights.services.disclosure import disclosure_document_generate, disclosure_handover_record
from rights.services.protection import protection_flag_change
from rights.services.requests import (
    correction_request_apply,
    correction_request_apply_delete,
    correction_request_register,
    correction_request_reject,
    disclosure_request_register,
    suspension_request_decide,
    suspension_request_lift,
    suspension_request_register,
)
from rights.services.tickets import ticket_answer, ticket_create

__all__ = [
    "correction_request_apply", "correction_request_apply_delete", "correction_request_register",
    "correction_request_reject", "disclosure_document_generate", "disclosure_handover_record",
    "disclosure_request_register", "protection_flag_change", "suspension_request_decide",
    "suspension_request_lift", "suspension_request_register", "ticket_answer", "ticket_create",
]
