"""Helpers of the auditor's desk tests (crafted log entries, PDF text), and the checks that they build
what the tests rely on: entries chained like any other, at the instant asked for."""

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.contenttypes.models import ContentType
from pypdf import PdfReader

from audit.chain import chain_and_insert, chain_verify
from audit.events import AuditEvent
from audit.models import AuditLogEntry
from records.models import Resident

TOKYO = ZoneInfo("Asia/Tokyo")


def jst(*args: int) -> datetime:
    """An aware datetime in Asia/Tokyo: ``jst(2025, 6, 2, 8, 29)``."""
    return datetime(*args, tzinfo=TOKYO)


def make_entries(specs: list[dict]) -> list[AuditLogEntry]:
    """Chain and insert entries built from ``specs`` (AuditLogEntry field values), through the one
    insert path of the log, so the tests' entries are chained like production ones. ``target`` names the
    object (content type, pk, repr); the default is the actor."""
    entries = []
    for spec in specs:
        spec = dict(spec)
        target = spec.pop("target", None) or spec.get("actor")
        entries.append(AuditLogEntry(
            content_type=ContentType.objects.get_for_model(target),
            object_pk=str(target.pk),
            object_id=target.pk,
            object_repr=spec.pop("object_repr", str(target)),
            **spec,
        ))
    chain_and_insert(entries)
    return entries


def view_entry(actor, resident: Resident, at: datetime, **extra) -> dict:
    return {"actor": actor, "target": resident, "action": AuditLogEntry.Action.ACCESS, "timestamp": at,
            "additional_data": {"view": "records:resident_detail", "permission": "records.view_resident"},
            **extra}


def event_entry(actor, event: AuditEvent, at: datetime, data: dict | None = None) -> dict:
    return {"actor": actor, "action": AuditLogEntry.Action.EVENT, "event": event, "timestamp": at,
            "additional_data": data}


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def pdf_font_names(content: bytes) -> set[str]:
    """Families of the fonts embedded in the PDF (subset prefix and separators dropped:
    ``ABCDEF+Noto-Sans-CJK-JP-Bold`` -> ``NotoSansCJKJP``); a font used but not embedded is left out."""
    reader = PdfReader(io.BytesIO(content))
    names: set[str] = set()
    for page in reader.pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for font in fonts.get_object().values():
            font = font.get_object()
            descendants = [d.get_object() for d in font.get("/DescendantFonts", [])] or [font]
            embedded = any(
                key in d["/FontDescriptor"].get_object() for d in descendants if "/FontDescriptor" in d
                for key in ("/FontFile", "/FontFile2", "/FontFile3")
            )
            if embedded:
                base = str(font["/BaseFont"]).lstrip("/").split("+")[-1].replace("-", "")
                names.add(base.removesuffix("Bold").removesuffix("Regular"))
    return names


@pytest.mark.django_db
def test_crafted_entries_join_the_chain_at_the_instant_asked_for(auditor_user):
    from tests.factories import ResidentFactory

    resident = ResidentFactory()
    at = jst(2024, 6, 1, 22, 5)
    made = make_entries([view_entry(auditor_user, resident, at, remote_addr="192.0.2.7")])
    stored = AuditLogEntry.objects.get(pk=made[0].pk)
    assert (stored.timestamp, stored.actor, stored.object_pk, stored.remote_addr) == (
        at, auditor_user, str(resident.pk), "192.0.2.7"
    )
    assert stored.seq == AuditLogEntry.objects.order_by("-seq").first().seq
    assert chain_verify().ok
