import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from accounts.roles import Role
from audit.events import AuditEvent
from audit.models import AuditLogEntry

pytestmark = pytest.mark.django_db


def test_first_administrator_is_created_once_with_the_request_on_record(capsys):
    call_command("create_administrator", "--username", "first-admin", "--division", "情報政策課",
                 "--reference", "R8-001")
    out = capsys.readouterr().out
    user = User.objects.get(username="first-admin")
    password = out.split("Initial password (shown once): ")[1].split()[0]
    assert user.check_password(password)
    assert (user.role, user.is_staff, user.is_superuser) == (Role.ADMINISTRATOR, True, False)
    events = list(AuditLogEntry.objects.filter(actor=user, action=AuditLogEntry.Action.EVENT).order_by("seq"))
    assert [e.event for e in events] == [AuditEvent.USER_CREATED, AuditEvent.ROLE_GRANTED]
    assert events[0].additional_data["reference"] == "R8-001"

    with pytest.raises(CommandError, match="有効な管理者が既にいます"):
        call_command("create_administrator", "--username", "second", "--division", "x", "--reference", "y")
    assert not User.objects.filter(username="second").exists()
