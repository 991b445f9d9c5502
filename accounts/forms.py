"""Sign-in, second-factor and user-administration forms. They only parse input; the checks of codes
and the writes happen in accounts.services."""

from typing import Any

from django import forms
from django.contrib.auth.forms import AdminUserCreationForm, AuthenticationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.roles import Role


class SignInForm(AuthenticationForm):
    """Username and password. AuthenticationForm calls authenticate(request=...), so django-axes sees
    every attempt and can lock the (username, address) pair."""

    error_messages = {
        "invalid_login": _("ユーザー名またはパスワードが正しくありません。大文字と小文字も区別されます。"),
        "inactive": _("この利用者は無効になっています。管理者に連絡してください。"),
    }

    def __init__(self, request: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = _("ユーザー名")
        self.fields["password"].label = _("パスワード")


class OtpTokenForm(forms.Form):
    """The second factor: a 6-digit code from the authenticator app, or one backup code."""

    otp_token = forms.CharField(
        label=_("確認コード"),
        max_length=32,
        help_text=_("認証アプリに表示されている6桁の数字、またはバックアップコード（例: abcde-23456）"),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True,
                                      "autocapitalize": "off", "spellcheck": "false"}),
    )


class SpacelessCharField(forms.CharField):
    """Spaces inside the value are dropped before validation ("123 456", as apps display it)."""

    def to_python(self, value: Any) -> str:
        return "".join(str(super().to_python(value)).split())


class TotpEnrolmentForm(forms.Form):
    """Confirms the new authenticator by one current code, proving it was set up correctly."""

    otp_token = SpacelessCharField(
        label=_("認証アプリに表示された6桁の数字"),
        max_length=12,
        validators=[RegexValidator(r"^[0-9]{6}$", _("6桁の数字を入力してください。"))],
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "autofocus": True}),
    )


# --- Administration (used by accounts.admin) ---------------------------------------------------


class RoleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Group) -> str:
        try:
            return str(Role(obj.name).label)
        except ValueError:
            return obj.name


class UserRoleFormMixin(forms.ModelForm):
    """One role per user; a clinic user belongs to exactly one clinic, and nobody else belongs to one."""

    groups = RoleChoiceField(
        queryset=Group.objects.filter(name__in=Role.values).order_by("name"),
        required=False,
        label=_("役割"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("役割は1つだけ選択します。"),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        groups = list(cleaned.get("groups") or [])
        if len(groups) > 1:
            self.add_error("groups", _("役割は1つだけ選択してください。"))
            return cleaned
        is_clinic = bool(groups) and groups[0].name == Role.CLINIC
        clinic = cleaned.get("clinic")
        if is_clinic and clinic is None:
            self.add_error("clinic", _("医療機関の利用者には所属医療機関が必要です。"))
        if not is_clinic and clinic is not None:
            self.add_error("clinic", _("所属医療機関は医療機関の利用者にだけ設定できます。"))
        return cleaned


class UserAdminChangeForm(UserRoleFormMixin, UserChangeForm):
    """The change form without the password field: not even the hash summary is shown (the admin's
    separate password page sets a new one)."""

    class Meta(UserChangeForm.Meta):
        model = User
        # django-stubs types the base Meta's fields ("__all__") as str.
        fields = (  # type: ignore[assignment]
            "username", "first_name", "last_name", "email", "groups", "clinic", "is_active", "is_staff",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.pop("password", None)


class UserAdminCreationForm(UserRoleFormMixin, AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "groups", "clinic")
