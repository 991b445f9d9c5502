from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("利用者と権限")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from accounts import signals  # noqa: F401  (sign-in audit and session start)
        from accounts.roles import sync_role_permissions_on_migrate

        post_migrate.connect(sync_role_permissions_on_migrate, dispatch_uid="accounts.sync_roles")
