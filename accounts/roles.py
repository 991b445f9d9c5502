"""The four roles and the permission catalog that grants each of them exactly what SPEC describes.

Each app declares its permissions and which roles hold them in its own ``permissions.py``
(``ROLE_PERMISSIONS``); this module merges those catalogs and keeps the role groups in line with them
after every migrate. Anything not granted here is denied.
"""

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

CATALOG_MODULES = (
    "accounts.permissions", "records.permissions", "imports.permissions", "audit.permissions",
    "eligibility.permissions", "linkage.permissions", "rights.permissions", "retention.permissions",
)


class Role(models.TextChoices):
    STAFF = "staff", _("職員")
    CLINIC = "clinic", _("医療機関")
    AUDITOR = "auditor", _("監査")
    ADMINISTRATOR = "administrator", _("管理者")


def role_permissions() -> dict[str, set[str]]:
    """``{role: {"app_label.codename", ...}}`` merged from every app's catalog."""
    from importlib import import_module

    merged: dict[str, set[str]] = {role.value: set() for role in Role}
    for module_name in CATALOG_MODULES:
        catalog: dict[str, Iterable[str]] = import_module(module_name).ROLE_PERMISSIONS
        for role, perms in catalog.items():
            merged[str(role)].update(perms)
    return merged


def sync_role_permissions() -> None:
    """Make each role group hold exactly the catalog's permissions (idempotent)."""
    from django.contrib.auth.models import Group, Permission

    for role, perms in role_permissions().items():
        group, _created = Group.objects.get_or_create(name=role)
        wanted = []
        for perm in sorted(perms):
            app_label, codename = perm.split(".", 1)
            wanted.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(wanted)


def sync_role_permissions_on_migrate(sender: Any, **kwargs: Any) -> None:
    # post_migrate fires once per app, in INSTALLED_APPS order; every app's permissions exist only
    # once the signal reaches the last app.
    from django.apps import apps

    # Django skips apps without a models module, so "last" means the last app that has one.
    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if sender is with_models[-1]:
        sync_role_permissions()
