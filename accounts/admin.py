"""Users and backup codes on the OTP admin site (admin.site is koshigaya_vax.admin.KoshigayaAdminSite).
Neither password hashes nor any second-factor secret is ever shown here."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.models import BackupCodeDevice, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Read-only here: users are created, given roles, deactivated and reset on the administrator's desk
    (manage/), where every change needs the request reference and writes its business event."""

    list_display = (
        "username", "last_name", "first_name", "role_display", "clinic", "is_active", "last_login",
    )
    list_filter = ("groups", "is_active", "clinic")
    list_select_related = ("clinic",)
    search_fields = ("username", "last_name", "first_name", "email")
    ordering = ("username",)
    filter_horizontal = ()
    fieldsets = (
        (None, {"fields": ("username", "password_status")}),
        (_("氏名・連絡先"), {"fields": ("last_name", "first_name", "email")}),
        (_("役割と所属"), {"fields": ("role_display", "clinic", "is_active")}),
        (_("記録"), {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = ("username", "password_status", "last_name", "first_name", "email", "role_display",
                       "clinic", "is_active", "last_login", "date_joined")

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("groups")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("役割"))
    def role_display(self, obj: User) -> str:
        return obj.role_label

    @admin.display(description=_("パスワード"))
    def password_status(self, obj: User) -> str:
        return str(_("設定済み") if obj.has_usable_password() else _("未設定（パスワードでサインインできません）"))


@admin.register(BackupCodeDevice)
class BackupCodeDeviceAdmin(admin.ModelAdmin):
    """Read-only: who has backup codes and how many are left; the codes themselves exist only hashed
    and are never shown."""

    list_display = ("user", "name", "confirmed", "remaining_codes", "throttling_failure_count")
    list_filter = ("confirmed",)
    search_fields = ("user__username",)
    fields = ("user", "name", "confirmed", "remaining_codes", "throttling_failure_timestamp",
              "throttling_failure_count")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[BackupCodeDevice]:
        return super().get_queryset(request).select_related("user").annotate(remaining=Count("codes"))

    @admin.display(description=_("未使用のコード数"), ordering="remaining")
    def remaining_codes(self, obj: BackupCodeDevice) -> int:
        return obj.remaining  # type: ignore[attr-defined]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
