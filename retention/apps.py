from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RetentionConfig(AppConfig):
    name = "retention"
    verbose_name = _("保存期間と消去")

    def ready(self) -> None:
        from retention.classes import register_builtin_classes
        from retention.holds import register_hold_provider
        from retention.selectors import OWN_PROVIDER, open_hold_resident_ids

        register_builtin_classes()
        register_hold_provider(OWN_PROVIDER, open_hold_resident_ids)
