"""What the linkage services share: the client factory, the scheduled jobs' system account, and the
writer of provision records (情報提供等の記録)."""

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from linkage.client import IntermediateServerClient
from linkage.models import ProvisionRecord

LINKAGE_SYSTEM_USERNAME = "system-linkage"


def linkage_client() -> IntermediateServerClient:
    return IntermediateServerClient.from_settings()


def linkage_system_user() -> Any:
    """The account the scheduled jobs act as (automatic answers, purges, batch code acquisition):
    inactive, without a password or a role, so nobody can sign in with it. Created on first use."""
    user, _created = get_user_model().objects.get_or_create(
        username=LINKAGE_SYSTEM_USERNAME,
        defaults={"is_active": False, "last_name": "情報連携自動処理", "password": make_password(None)},
    )
    return user


def provision_record_write(*, direction: str, requester: tuple[str, str], provider: tuple[str, str], business: str,
                           item: str, resident: Any, permit_id: str, requested_at: datetime, outcome: str,
                           staff: Any | None, detail: str = "", exchange: Any = None,
                           inbound: Any = None) -> ProvisionRecord:
    record = ProvisionRecord(
        direction=direction, requester_code=requester[0], requester_name=requester[1], provider_code=provider[0],
        provider_name=provider[1], business=business, item=item, resident=resident,
        address_number=resident.address_number if resident is not None else "", permit_id=permit_id,
        requested_at=requested_at, completed_at=timezone.now(), outcome=outcome, detail=detail[:100],
        staff=None if staff is None or staff.get_username() == LINKAGE_SYSTEM_USERNAME else staff,
        exchange=exchange, inbound=inbound,
    )
    record.full_clean()
    record.save()
    return record


OUR_BODY_NAME = "埼玉県越谷市"


def our_body() -> tuple[str, str]:
    from django.conf import settings

    return settings.LINKAGE_BODY_CODE, OUR_BODY_NAME
