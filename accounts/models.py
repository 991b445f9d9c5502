"""Users (one role each, a clinic for clinic users), the hashed backup-code OTP device, and the records of
the administrator's desk: role grants with the request that asked for them, periodic access reviews, and
the sessions each user holds (so a deactivation can end them at once)."""

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
from koshigaya_vax.db import BaseModel

BACKUP_CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: read aloud over the phone
BACKUP_CODE_LENGTH = 10


class User(AbstractUser):  # type: ignore[django-manager-missing]  # django-otp devices relate to it
    clinic = models.ForeignKey("records.Clinic", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="users", verbose_name=_("所属医療機関"))

    class Meta:
        verbose_name = _("利用者")
        verbose_name_plural = _("利用者")
        permissions = [
            ("view_api_docs", _("API仕様書を閲覧できる")),
            ("export_bulk", _("データを一括で持ち出せる")),
        ]
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


class RoleGrantAction(models.TextChoices):
    GRANTED = "granted", _("付与")
    REVOKED = "revoked", _("取消")


class RoleGrant(BaseModel):
    """One grant or revocation of a role, with the request that asked for it (依頼元所属, 依頼番号).
    Append-only history: the user's current role lives in their group; this says who asked for it, when
    and who carried it out (created_at is the time of the change)."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="role_grants", verbose_name=_("利用者"))
    role = models.CharField(_("役割"), max_length=20, choices=Role.choices)
    action = models.CharField(_("区分"), max_length=10, choices=RoleGrantAction.choices)
    clinic = models.ForeignKey("records.Clinic", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+", verbose_name=_("所属医療機関"))
    requesting_division = models.CharField(_("依頼元所属"), max_length=100)
    reference_number = models.CharField(_("依頼番号"), max_length=50)
    note = models.CharField(_("備考"), max_length=200, blank=True)
    performed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("処理者"))

    class Meta:
        verbose_name = _("権限の付与・取消")
        verbose_name_plural = _("権限の付与・取消")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "role", "action", "created_at"], name="role_grant_user_idx")]
        constraints = [
            models.CheckConstraint(condition=~Q(requesting_division=""), name="role_grant_division_not_empty"),
            models.CheckConstraint(condition=~Q(reference_number=""), name="role_grant_reference_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.role} #{self.user_id} ({self.reference_number})"


class AccessReview(BaseModel):
    """One periodic access review (定期確認): who reviewed which users' rights, when (created_at), and
    what they noted."""

    reviewer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("確認者"))
    users = models.ManyToManyField(User, related_name="access_reviews", verbose_name=_("確認した利用者"))
    note = models.CharField(_("所見"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("アクセス権の定期確認")
        verbose_name_plural = _("アクセス権の定期確認")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"access review #{self.pk}"


class UserSession(models.Model):
    """The session keys a user holds, recorded at sign-in (and when the key is cycled), so deactivating
    a user deletes exactly their sessions without decoding every session in the store. A session key is
    a bearer credential: this model is never registered with the audit log and never shown."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("利用者のセッション")
        verbose_name_plural = _("利用者のセッション")

    def __str__(self) -> str:
        return f"session of #{self.user_id}"  # never the key
