from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RightsConfig(AppConfig):
    name = "rights"
    verbose_name = _("本人からの請求・問合せ")

    def ready(self) -> None:
        from retention.holds import register_hold_provider
        from rights.selectors import rights_held_resident_ids

        # A person with an open disclosure, correction or suspension request (or a granted suspension)
        # is never purged while it stands.
        register_hold_provider("rights", rights_held_resident_ids)
