"""Forms of the administrator's desk. They only parse input; the rules (one role, the clinic of clinic users,
the lock-out guards, the request reference) are enforced by accounts.services, whose ValidationErrors
``add_service_errors`` puts back on the fields."""

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.roles import Role
from accounts.selectors import NO_ROLE, UserQuery
from accounts.services import RequestReference
from koshigaya_vax.logging import redact
from records.exports import REASON_MAX_LENGTH, ExportKind
from records.models import Clinic

_TEXT = {"autocomplete": "off"}


class _NoNumberEcho:
    """A free-text widget that does not render back a value holding a 12-digit run (a possible My
    Number, refused by the services): the refused number must not travel back into the page."""

    def format_value(self, value: Any) -> str | None:
        text = super().format_value(value)  # type: ignore[misc]
        return "" if text and redact(str(text)) != str(text) else text


class TextInput(_NoNumberEcho, forms.TextInput):
    pass


class Textarea(_NoNumberEcho, forms.Textarea):
    pass


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Each message under the field the service names, anything else as a non-field error."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields and field != NON_FIELD_ERRORS else None, errors)


class RequestReferenceForm(forms.Form):
    """The written request behind an action: 依頼元所属 and 依頼番号 are required for every action."""

    requesting_division = forms.CharField(
        label=_("依頼元所属"), max_length=100, widget=TextInput(attrs=_TEXT),
        help_text=_("権限の付与・取消等を依頼した所属（例: 健康づくり推進課）"),
    )
    reference_number = forms.CharField(
        label=_("依頼番号"), max_length=50, widget=TextInput(attrs=_TEXT),
        help_text=_("依頼文書の番号（例: 越健推第123号）"),
    )
    note = forms.CharField(label=_("備考"), max_length=200, required=False, widget=TextInput(attrs=_TEXT))

    def request_reference(self) -> RequestReference:
        data = self.cleaned_data
        return RequestReference(division=data["requesting_division"], reference=data["reference_number"],
                                note=data.get("note") or "")


def _clinics() -> Any:
    return Clinic.objects.filter(is_active=True).order_by("code")


class ClinicChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.code} {obj.name}"


class RoleFields(forms.Form):
    role = forms.ChoiceField(label=_("役割"), choices=[("", "---------"), *Role.choices])
    clinic = ClinicChoiceField(
        label=_("所属医療機関"), queryset=Clinic.objects.none(), required=False,
        help_text=_("医療機関の利用者のときだけ選択します。"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["clinic"].queryset = _clinics()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        role, clinic = cleaned.get("role"), cleaned.get("clinic")
        if role == Role.CLINIC and clinic is None:
            self.add_error("clinic", _("医療機関の利用者には所属医療機関が必要です。"))
        if role and role != Role.CLINIC and clinic is not None:
            self.add_error("clinic", _("所属医療機関は医療機関の利用者にだけ設定できます。"))
        return cleaned


class UserCreateForm(RoleFields, RequestReferenceForm):
    username = forms.CharField(
        label=_("ユーザー名"), max_length=150, widget=TextInput(attrs={**_TEXT, "autocapitalize": "off"}),
        help_text=_("半角英数字と @ . + - _ が使えます。"),
    )
    last_name = forms.CharField(label=_("姓"), max_length=150, widget=TextInput(attrs=_TEXT))
    first_name = forms.CharField(label=_("名"), max_length=150, required=False, widget=TextInput(attrs=_TEXT))
    email = forms.EmailField(label=_("メールアドレス"), required=False, widget=forms.EmailInput(attrs=_TEXT))

    field_order = ["username", "last_name", "first_name", "email", "role", "clinic",
                   "requesting_division", "reference_number", "note"]


class RoleGrantForm(RoleFields, RequestReferenceForm):
    field_order = ["role", "clinic", "requesting_division", "reference_number", "note"]


class UserFilterForm(forms.Form):
    """Filters of the user list and the access review (GET: user names, never residents' data)."""

    ACTIVE_CHOICES = (("", _("すべて")), ("1", _("有効のみ")), ("0", _("停止中のみ")))

    q = forms.CharField(label=_("ユーザー名・氏名"), required=False, max_length=150,
                        widget=TextInput(attrs=_TEXT))
    role = forms.ChoiceField(label=_("役割"), required=False,
                             choices=[("", _("すべて")), *Role.choices, (NO_ROLE, _("役割なし"))])
    active = forms.ChoiceField(label=_("状態"), required=False, choices=ACTIVE_CHOICES)

    def to_query(self) -> UserQuery:
        if not self.is_valid():
            return UserQuery()
        data = self.cleaned_data
        active = {"1": True, "0": False}.get(data.get("active") or "")
        return UserQuery(text=data.get("q") or "", role=data.get("role") or "", active=active)


class AccessReviewForm(forms.Form):
    """Mark one user (``user``) or every user shown (``everyone``, with their ids in ``shown``: what the
    reviewer saw, not whatever matches the filter by the time they press the button) as reviewed."""

    user = forms.ModelChoiceField(queryset=User.objects.all(), required=False, widget=forms.HiddenInput)
    shown = forms.ModelMultipleChoiceField(queryset=User.objects.all(), required=False,
                                           widget=forms.MultipleHiddenInput)
    everyone = forms.BooleanField(required=False, widget=forms.HiddenInput)
    note = forms.CharField(label=_("所見"), max_length=500, required=False, widget=TextInput(attrs=_TEXT),
                           help_text=_("確認の結果、気付いた点があれば記入します（任意）。"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("everyone"):
            cleaned["users"] = list(cleaned.get("shown") or [])
        elif cleaned.get("user") is not None:
            cleaned["users"] = [cleaned["user"]]
        else:
            cleaned["users"] = []
        if not cleaned["users"] and not self.errors:
            raise ValidationError(_("確認した利用者を選んでください。"))
        return cleaned


class BulkExportForm(forms.Form):
    kind = forms.ChoiceField(label=_("持ち出すデータ"), choices=ExportKind.choices, widget=forms.RadioSelect)
    reason = forms.CharField(
        label=_("持ち出しの理由"), max_length=REASON_MAX_LENGTH,
        widget=Textarea(attrs={"rows": 3, **_TEXT}),
        help_text=_("目的・提供先・依頼番号などを具体的に記入してください。理由は持ち出し履歴として監査記録に残ります。"),
    )
