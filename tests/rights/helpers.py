"""Builders for rights tests: requests received through the services, as staff would."""

import io
from datetime import date

from pypdf import PdfReader

from rights import services
from rights.models import Channel, IdentityDocument

TODAY = date(2026, 11, 20)


def reception(**overrides) -> dict:
    data = {
        "channel": Channel.COUNTER, "received_on": TODAY, "requester_name": "越谷 花子",
        "identity_document": IdentityDocument.DRIVER_LICENSE,
    }
    data.update(overrides)
    return data


def disclosure(actor, resident, **overrides):
    return services.disclosure_request_register(actor=actor, resident=resident, **reception(**overrides))


def correction(actor, resident, record=None, **overrides):
    overrides.setdefault("requested_change", "LOT-NOが誤っています。正しくはZZ99-001です。")
    return services.correction_request_register(actor=actor, resident=resident, record=record,
                                                **reception(**overrides))


def suspension(actor, resident, **overrides):
    overrides.setdefault("grounds", "目的外に利用されているおそれがあるため")
    return services.suspension_request_register(actor=actor, resident=resident, **reception(**overrides))


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() or "" for page in reader.pages)
