"""Django admin for the masters administrators manage: clinics (医療機関) and vaccines (ワクチン).

Residents and vaccination records are deliberately not registered: they change only through the
services (validation, audit, My Number encryption), and the admin must never display the My Number
ciphertext or its blind index. Deletion of masters is not offered either: records refer to them
(PROTECT); a retired master is marked inactive instead.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from records.models import Clinic, Vaccine


class MasterAdmin(admin.ModelAdmin):
    list_filter = ["is_active"]
    readonly_fields = ["created_at", "updated_at"]
    list_per_page = 50

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Clinic)
class ClinicAdmin(MasterAdmin):
    list_display = ["code", "name", "address", "is_active"]
    search_fields = ["code", "name"]
    fields = ["code", "name", "address", "is_active", "created_at", "updated_at"]


@admin.register(Vaccine)
class VaccineAdmin(MasterAdmin):
    list_display = ["code", "name", "maker", "standard_dose_ml", "is_active"]
    search_fields = ["code", "name", "maker"]
    fields = ["code", "name", "maker", "standard_dose_ml", "is_active", "created_at", "updated_at"]
