"""Browser forms of the imports app: the monthly CSV upload and the clinic API token issue form. They only
parse input; the file is checked and stored by imports.services.clinic_import_receive, whose refusals the
upload view puts back on the form."""

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from imports.permissions import can_choose_clinic
from imports.services import ImportRefused
from imports.services.receiving import max_bytes
from records.forms import YearMonthField
from records.models import Clinic


class ClinicChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Clinic) -> str:
        return f"{obj.code} {obj.name}"


def oversize_refusal(size: int) -> ImportRefused | None:
    """The engine's "too_large" refusal, given before the upload is read into memory at all (the engine
    checks the bytes it is handed; a far bigger upload must not be loaded just to be refused)."""
    limit = max_bytes()
    if size <= limit:
        return None
    return ImportRefused(
        f"ファイルが大きすぎます（{size:,}バイト）。上限は{limit:,}バイト（{limit / 1024 / 1024:g}MB）です。"
        "ファイルを分けて送ってください。",
        code="too_large",
    )


def previous_month(today: date) -> date:
    """Clinics send the month just ended (by the 10th), so that is the form's suggestion."""
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


class ClinicImportUploadForm(forms.Form):
    """The month's CSV. Staff choose the clinic they send it for; a clinic user's clinic is fixed (the
    field is not even offered, so no other clinic can be posted)."""

    clinic = ClinicChoiceField(
        queryset=Clinic.objects.filter(is_active=True).order_by("code"), label=_("医療機関"),
        empty_label=_("選択してください"),
        help_text=_("代理でアップロードする医療機関（紙の予診票を委託先が入力した場合など）。"),
    )
    billing_month = YearMonthField(
        label=_("請求年月"), help_text=_("例: 2025-11、202511、令和7年11月、R7.11"),
    )
    file = forms.FileField(
        label=_("CSVファイル"),
        help_text=_("UTF-8（BOM有無どちらも可）またはShift_JIS（CP932）。1医療機関・1請求月につき1ファイル。"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"billing_month": previous_month(timezone.localdate())})
        super().__init__(*args, **kwargs)
        self.user = user
        if not can_choose_clinic(user):
            del self.fields["clinic"]

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        refusal = oversize_refusal(upload.size)
        if refusal is not None:
            raise refusal
        return upload

    @property
    def chooses_clinic(self) -> bool:
        return "clinic" in self.fields

    def target_clinic(self) -> Clinic | None:
        """The clinic the file is for: the chosen one (staff) or the user's own (clinic users)."""
        if self.chooses_clinic:
            return self.cleaned_data.get("clinic")
        return getattr(self.user, "clinic", None)


class ClinicApiTokenIssueForm(forms.Form):
    clinic = ClinicChoiceField(queryset=Clinic.objects.filter(is_active=True).order_by("code"),
                               label=_("医療機関"), empty_label=_("選択してください"))
    name = forms.CharField(
        label=_("用途"), max_length=100,
        help_text=_("例: 電子カルテからの月次送信、委託先の送信システム。一覧で見分けるために使います。"),
    )
