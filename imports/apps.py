from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = _("医療機関からの接種記録取込")

    def ready(self) -> None:
        from imports import inbox_tasks  # noqa: F401  (Celery autodiscovers only tasks.py)
