"""Forms of the retention pages. They parse input; the rules (the legal minimum, who may act) live in
retention.services, whose ValidationErrors go back onto the fields (accounts.manage_forms.add_service_errors)."""

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.manage_forms import TextInput
from retention.classes import DataClass
from retention.services import minimum_years_error

_TEXT = {"autocomplete": "off"}


class PolicyForm(forms.Form):
    years = forms.IntegerField(label=_("保存年数"), min_value=1, max_value=200)
    reason = forms.CharField(label=_("変更理由"), max_length=200, widget=TextInput(attrs=_TEXT),
                             help_text=_("例: 文書管理規程の改正（越総第12号）"))

    def __init__(self, *args: Any, data_class: DataClass, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.data_class = data_class
        years = cast(forms.IntegerField, self.fields["years"])
        years.min_value = data_class.minimum_years
        years.widget.attrs["min"] = data_class.minimum_years
        years.help_text = _("%(start)sから数えます。最低%(minimum)d年。") % {
            "start": data_class.start_label, "minimum": data_class.minimum_years}

    def clean_years(self) -> int:
        years: int = self.cleaned_data["years"]
        error = minimum_years_error(self.data_class, years)
        if error is not None:
            raise forms.ValidationError(error.error_dict["years"])
        return years


class HoldForm(forms.Form):
    address_number = forms.CharField(label=_("団体内宛名番号"), max_length=15, widget=TextInput(attrs=_TEXT))
    reason = forms.CharField(label=_("理由"), max_length=200, widget=TextInput(attrs=_TEXT),
                             help_text=_("例: 訴訟対応のため記録を保全"))
    reference = forms.CharField(label=_("根拠文書・依頼番号"), max_length=100, widget=TextInput(attrs=_TEXT))


class HoldReleaseForm(forms.Form):
    release_reason = forms.CharField(label=_("解除理由"), max_length=200, widget=TextInput(attrs=_TEXT))


class ReportCreateForm(forms.Form):
    as_of = forms.DateField(label=_("基準日"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                            help_text=_("空欄なら今日。この日に保存期間を過ぎているものを抽出します。"))


class DecisionForm(forms.Form):
    note = forms.CharField(label=_("備考"), max_length=200, required=False, widget=TextInput(attrs=_TEXT))
