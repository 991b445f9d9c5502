"""Browser forms of linkage: choosing the former municipality to query, the reason of a refusal, and the
auditors' search of provision records."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from linkage.models import RecordDirection, RecordOutcome
from linkage.selectors import ProvisionRecordCriteria
from records.forms import EraDateField


class QueryForm(forms.Form):
    provider_code = forms.ChoiceField(label=_("照会先（転入前の市区町村）"))

    def __init__(self, *args: Any, bodies: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.names = dict(bodies)
        field: Any = self.fields["provider_code"]
        field.choices = [("", "---------"), *((c, f"{c} {n}") for c, n in bodies)]

    def provider(self) -> tuple[str, str]:
        code = self.cleaned_data["provider_code"]
        return code, self.names[code]


class RefuseForm(forms.Form):
    reason = forms.CharField(label=_("拒否の理由"), max_length=200,
                             help_text=_("照会元には拒否したことだけが伝わり、データは送られません。理由は記録に残ります。"))


class ProvisionRecordSearchForm(forms.Form):
    date_from = EraDateField(label=_("期間（から）"), required=False)
    date_to = EraDateField(label=_("期間（まで）"), required=False)
    direction = forms.ChoiceField(label=_("区分"), required=False,
                                  choices=[("", _("すべて")), *RecordDirection.choices])
    outcome = forms.ChoiceField(label=_("結果"), required=False, choices=[("", _("すべて")), *RecordOutcome.choices])
    body_code = forms.RegexField(label=_("相手方の団体コード"), required=False, regex=r"^\d{6}$",
                                 error_messages={"invalid": _("団体コードは数字6桁です。")})
    address_number = forms.RegexField(label=_("団体内宛名番号"), required=False, regex=r"^\d{1,15}$",
                                      error_messages={"invalid": _("宛名番号は数字15桁以内です。")})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("期間の終わりが始まりより前です。"))
        return data

    def to_criteria(self) -> ProvisionRecordCriteria:
        data = self.cleaned_data
        return ProvisionRecordCriteria(
            date_from=data.get("date_from"), date_to=data.get("date_to"), direction=data.get("direction") or "",
            outcome=data.get("outcome") or "", body_code=data.get("body_code") or "",
            address_number=data.get("address_number") or "",
        )
