"""Clinic imports and clinic API tokens on the OTP admin site, read-only.

Imports change only through imports.services (stored file, state machine, audit); tokens are issued and
revoked on the administrators' pages (imports:token_list), where the clear token is shown once and the
issue and revocation are recorded. Token hashes are never shown here.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from imports.models import ClinicApiToken, ClinicImport


class ReadOnlyAdmin(admin.ModelAdmin):
    list_per_page = 50

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ClinicImport)
class ClinicImportAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "clinic", "billing_month", "source", "status", "rows_total",
                    "rows_committed", "rows_duplicate", "rows_error")
    list_filter = ("status", "source")
    list_select_related = ("clinic",)
    search_fields = ("original_filename", "clinic__code", "clinic__name")
    date_hierarchy = "created_at"
    fields = ("clinic", "billing_month", "source", "uploaded_by", "api_token", "original_filename", "sha256",
              "size_bytes", "encoding", "status", "rows_total", "rows_validated", "rows_committed",
              "rows_duplicate", "rows_error", "failure_message", "created_at", "started_at", "finished_at")
    readonly_fields = fields


@admin.register(ClinicApiToken)
class ClinicApiTokenAdmin(ReadOnlyAdmin):
    list_display = ("prefix", "clinic", "name", "created_by", "created_at", "last_used_at", "revoked_at",
                    "manage_link")
    list_filter = ("revoked_at",)
    list_select_related = ("clinic", "created_by")
    search_fields = ("prefix", "name", "clinic__code", "clinic__name")
    fields = ("prefix", "clinic", "name", "created_by", "created_at", "last_used_at", "revoked_at", "revoked_by")
    readonly_fields = fields

    @admin.display(description=_("発行・失効"))
    def manage_link(self, obj: ClinicApiToken) -> str:
        return format_html('<a href="{}">{}</a>', reverse("imports:token_list"), _("トークンの画面"))
