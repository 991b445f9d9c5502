"""Sign-in, second-factor and user-administration forms. They only parse input; the checks of codes
and the writes happen in accounts.services."""

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _


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
