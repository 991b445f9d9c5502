"""Forms of the auditor's desk. The log search travels by GET (bookmarkable, paged): its criteria name
users, 宛名番号, operations, dates and addresses, never a My Number — a value that looks like one (12
digits, with or without spaces or hyphens, half or full width) is refused before anything is searched,
and the form is then shown empty rather than echoing it."""

import unicodedata
from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import ErrorDict
from django.utils.translation import gettext_lazy as _

from audit.events import AuditEvent
from audit.reports import InspectionPeriod
from audit.selectors import AuditSearchCriteria, audit_resident_id_for, audit_user_id_for
from koshigaya_vax.logging import redact
from records.forms import EraDateField

MY_NUMBER_REFUSED = _("個人番号と思われる12桁の数字は検索条件に使用できません。検索は行っていません。")

OPERATION_CHOICES = [
    ("create", _("作成")),
    ("update", _("変更")),
    ("delete", _("削除")),
    ("access", _("閲覧")),
    ("event", _("業務イベント（すべて）")),
]


def looks_like_my_number(value: str) -> bool:
    """True when ``value`` holds a run of 12 digits (the shape of a My Number), however written."""
    text = unicodedata.normalize("NFKC", value)
    return redact(text) != text


def refuses_my_number(data: Any) -> bool:
    """True when any submitted value looks like a My Number (checked on the raw data, before parsing)."""
    if data is None:
        return False
    for key in data:
        values = data.getlist(key) if hasattr(data, "getlist") else [data[key]]
        if any(looks_like_my_number(str(v)) for v in values):
            return True
    return False


class AuditSearchForm(forms.Form):
    username = forms.CharField(label=_("利用者ID"), max_length=150, required=False,
                               widget=forms.TextInput(attrs={"autocomplete": "off"}))
    address_number = forms.CharField(
        label=_("宛名番号"), max_length=15, required=False,
        help_text=_("その宛名と、その宛名の接種記録の記録を表示します。"),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    action = forms.ChoiceField(
        label=_("操作"), required=False,
        choices=[("", _("すべて")), (_("操作"), OPERATION_CHOICES), (_("業務イベント"), AuditEvent.choices)],
    )
    date_from = EraDateField(label=_("期間（開始日）"), required=False)
    date_to = EraDateField(label=_("期間（終了日）"), required=False)
    remote_addr = forms.GenericIPAddressField(label=_("接続元アドレス"), required=False, unpack_ipv4=True)
    # Set by the history pages and carried by their export buttons; not shown in the search form.
    resident = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    user = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    visible_fields_order = ("username", "address_number", "action", "date_from", "date_to", "remote_addr")

    def __init__(self, *args: Any, actor: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.my_number_refused = refuses_my_number(self.data) if self.is_bound else False

    def full_clean(self) -> None:
        if self.my_number_refused:
            # Nothing is parsed or kept: the values must not reach a message, a query or the page.
            self._errors = ErrorDict()
            self.cleaned_data = {}
            self.add_error(None, ValidationError(MY_NUMBER_REFUSED, code="my_number_in_filter"))
            return
        super().full_clean()

    def clean_username(self) -> str:
        value = self.cleaned_data["username"].strip()
        if value and self.actor is not None and audit_user_id_for(actor=self.actor, username=value) is None:
            raise ValidationError(_("この利用者IDの利用者はいません。"), code="unknown_user")
        return value

    def clean_address_number(self) -> str:
        value = unicodedata.normalize("NFKC", self.cleaned_data["address_number"]).strip()
        if value and not value.isdigit():
            raise ValidationError(_("宛名番号は数字で入力してください。"), code="address_number")
        if value and self.actor is not None and audit_resident_id_for(actor=self.actor, address_number=value) is None:
            raise ValidationError(_("この宛名番号の宛名はありません。"), code="unknown_resident")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if isinstance(start, date) and isinstance(end, date) and start > end:
            raise ValidationError(_("期間の開始日が終了日より後になっています。"), code="date_range")
        return cleaned

    def search_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.visible_fields_order]

    def to_criteria(self) -> AuditSearchCriteria:
        data = self.cleaned_data
        return AuditSearchCriteria(
            username=data.get("username") or "",
            address_number=data.get("address_number") or "",
            action=data.get("action") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            remote_addr=data.get("remote_addr") or "",
            resident_id=data.get("resident"),
            actor_id=data.get("user"),
        )


class InspectionPeriodForm(forms.Form):
    """A fiscal year (年度: 1 April to 31 March) or a date range; nothing means the current fiscal year."""

    fiscal_year = forms.IntegerField(label=_("年度（西暦）"), required=False, min_value=2000, max_value=2100,
                                     help_text=_("4月1日から翌年3月31日まで。例: 2025 は令和7年度。"))
    date_from = EraDateField(label=_("期間（開始日）"), required=False)
    date_to = EraDateField(label=_("期間（終了日）"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.my_number_refused = refuses_my_number(self.data) if self.is_bound else False

    def full_clean(self) -> None:
        if self.my_number_refused:
            self._errors = ErrorDict()
            self.cleaned_data = {}
            self.add_error(None, ValidationError(MY_NUMBER_REFUSED, code="my_number_in_filter"))
            return
        super().full_clean()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        year, start, end = cleaned.get("fiscal_year"), cleaned.get("date_from"), cleaned.get("date_to")
        if self.errors:
            return cleaned
        if year is not None and (start or end):
            raise ValidationError(_("年度と期間は、どちらか一方だけを指定してください。"), code="period_both")
        if (start is None) != (end is None):
            raise ValidationError(_("期間は開始日と終了日の両方を指定してください。"), code="period_half")
        if start and end and start > end:
            raise ValidationError(_("期間の開始日が終了日より後になっています。"), code="date_range")
        return cleaned

    def to_period(self, *, today: date) -> InspectionPeriod:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        if data.get("date_from") and data.get("date_to"):
            return InspectionPeriod(data["date_from"], data["date_to"])
        if data.get("fiscal_year"):
            return InspectionPeriod.fiscal_year(data["fiscal_year"])
        return InspectionPeriod.fiscal_year(InspectionPeriod.fiscal_year_of(today), until=today)
