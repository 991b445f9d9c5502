"""Factories and helpers for the administrator's desk: request references and role grants."""

import factory

from accounts.models import RoleGrant, RoleGrantAction
from accounts.roles import Role
from accounts.services import RequestReference
from audit.models import AuditLogEntry
from tests.factories import UserFactory


def request_ref(**overrides: str) -> RequestReference:
    values = {"division": "健康づくり推進課", "reference": "越健推第123号", "note": ""}
    values.update(overrides)
    return RequestReference(**values)


def reference_post(prefix: str = "", **overrides: str) -> dict[str, str]:
    """The request-reference fields of a desk form as POSTed (``prefix`` as the page's form prefix)."""
    values = {"requesting_division": "健康づくり推進課", "reference_number": "越健推第123号", "note": ""}
    values.update(overrides)
    return {f"{prefix}-{k}" if prefix else k: v for k, v in values.items()}


def last_seq() -> int:
    entry = AuditLogEntry.objects.order_by("-seq").first()
    return entry.seq if entry is not None else 0


def events_since(seq: int) -> list[str]:
    """Business-event codes written after ``seq``, in order."""
    return list(
        AuditLogEntry.objects.filter(seq__gt=seq, action=AuditLogEntry.Action.EVENT)
        .order_by("seq")
        .values_list("event", flat=True)
    )


class RoleGrantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoleGrant

    user = factory.SubFactory(UserFactory)
    role = Role.STAFF.value
    action = RoleGrantAction.GRANTED
    requesting_division = "健康づくり推進課"
    reference_number = factory.Sequence(lambda n: f"越健推第{n + 1}号")
    performed_by = factory.SubFactory(UserFactory)
