"""The last-administrator guard under concurrency (PostgreSQL row locks): two administrators deactivating
each other at the same moment cannot both succeed."""

import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from accounts import services
from accounts.models import User
from accounts.roles import Role
from tests.accounts.factories import request_ref
from tests.conftest import requires_postgres
from tests.factories import UserFactory


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_administrators_deactivating_each_other_leave_one_active(monkeypatch):
    first = UserFactory(username="admin-a", with_role=Role.ADMINISTRATOR)
    second = UserFactory(username="admin-b", with_role=Role.ADMINISTRATOR)
    guard = services._keep_an_administrator

    def slow_guard(**kwargs):
        time.sleep(0.3)  # widen the window between reading the administrators and deciding
        return guard(**kwargs)

    monkeypatch.setattr(services, "_keep_an_administrator", slow_guard)
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def deactivate(actor: User, target: User) -> None:
        try:
            start.wait()
            services.user_deactivate(actor=actor, user=target, request_ref=request_ref())
            outcomes[actor.username] = "done"
        except ValidationError as exc:
            outcomes[actor.username] = str(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deactivate, args=pair) for pair in ((first, second), (second, first))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes.values()) == ["done", "last_administrator"]
    assert User.objects.filter(groups__name=Role.ADMINISTRATOR.value, is_active=True).count() == 1
