"""Users (one role each, a clinic for clinic users) and the hashed backup-code OTP device."""

import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin

from accounts.roles import Role

BACKUP_CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: read aloud over the phone
BACKUP_CODE_LENGTH = 10


class User(AbstractUser):  # type: ignore[django-manager-missing]  # django-otp devices relate to it
    clinic = models.ForeignKey("records.Clinic", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="users", verbose_name=_("所属医療機関"))

    class Meta:
        verbose_name = _("利用者")
        verbose_name_plural = _("利用者")
        permissions = [("view_api_docs", _("API仕様書を閲覧できる"))]
        constraints = [
            models.CheckConstraint(condition=~Q(username=""), name="user_username_not_empty"),
        ]

    def __str__(self) -> str:
        return self.username

    @cached_property
    def role(self) -> Role | None:
        names = {group.name for group in self.groups.all()}
        for role in Role:
            if role.value in names:
                return role
        return None

    @property
    def role_label(self) -> str:
        return str(self.role.label) if self.role else str(_("役割なし"))


def _hash_backup_code(code: str) -> str:
    normalised = "".join(code.split()).lower().replace("-", "")
    return salted_hmac("accounts.backup_code", normalised, algorithm="sha256").hexdigest()


class BackupCodeDevice(ThrottlingMixin, Device):
    """Single-use backup codes. Unlike django-otp's static device, only an HMAC of each code is stored,
    so a copy of the database does not hand out second factors."""

    class Meta(Device.Meta):
        verbose_name = _("バックアップコード")
        verbose_name_plural = _("バックアップコード")

    def get_throttle_factor(self) -> int:
        return getattr(settings, "OTP_BACKUP_CODE_THROTTLE_FACTOR", 1)

    def issue_codes(self, count: int) -> list[str]:
        """Replace every code with ``count`` fresh ones; the clear codes are returned once, never stored."""
        codes = [
            "".join(secrets.choice(BACKUP_CODE_ALPHABET) for _ in range(BACKUP_CODE_LENGTH)) for _ in range(count)
        ]
        self.codes.all().delete()
        BackupCode.objects.bulk_create(BackupCode(device=self, code_hash=_hash_backup_code(c)) for c in codes)
        return [f"{c[:5]}-{c[5:]}" for c in codes]

    def verify_token(self, token: str) -> bool:
        allowed, _details = self.verify_is_allowed()
        if not allowed:
            return False
        digest = _hash_backup_code(str(token))
        match = next((c for c in self.codes.all() if constant_time_compare(c.code_hash, digest)), None)
        if match is None:
            self.throttle_increment()
            return False
        match.delete()
        self.throttle_reset()
        return True


class BackupCode(models.Model):
    device = models.ForeignKey(BackupCodeDevice, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("バックアップコード")
        constraints = [models.UniqueConstraint(fields=["device", "code_hash"], name="backup_code_unique")]

    def __str__(self) -> str:
        return f"backup code #{self.pk}"  # never the hash
