"""The one audit log: django-auditlog's entry model, swapped in so that field diffs, read accesses and
business events all live in one table (AUDITLOG_LOGENTRY_MODEL)."""

from auditlog.models import AbstractLogEntry
from django.db import models
from django.utils.translation import gettext_lazy as _

from audit.events import AuditEvent


class AuditLogEntry(AbstractLogEntry):
    class Action(AbstractLogEntry.Action):
        EVENT = 10
        choices = (*AbstractLogEntry.Action.choices, (EVENT, _("業務イベント")))

    action = models.PositiveSmallIntegerField(choices=Action.choices, verbose_name=_("操作"), db_index=True)
    event = models.CharField(_("業務イベント"), max_length=40, choices=AuditEvent.choices, blank=True,
                             db_index=True)

    class Meta(AbstractLogEntry.Meta):
        verbose_name = _("監査ログ")
        verbose_name_plural = _("監査ログ")
        indexes = [
            models.Index(fields=["actor", "timestamp"], name="audit_actor_time_idx"),
            models.Index(fields=["content_type", "object_pk", "timestamp"], name="audit_object_time_idx"),
            models.Index(fields=["action", "timestamp"], name="audit_action_time_idx"),
        ]
