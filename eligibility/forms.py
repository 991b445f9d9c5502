"""Browser forms of eligibility. Dates accept every form records.rules.dates.parse_date does."""

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from eligibility.models import Campaign, CampaignRule, PriorityGroup
from eligibility.rules import Rule
from records.models import Sex, Vaccine
from records.rules.dates import DateParseError, parse_date
from records.rules.mynumber import MyNumberError, normalize_my_number


class FlexibleDateField(forms.CharField):
    def to_python(self, value: Any) -> date | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        try:
            return parse_date(text)
        except DateParseError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None


def _date_field(label: Any, *, required: bool = True, help_text: Any = "") -> FlexibleDateField:
    return FlexibleDateField(label=label, required=required, help_text=help_text or _("例: 2026-04-01、令和8年4月1日"),
                             widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}))


class RuleFields(forms.Form):
    """The target rule of a campaign (also the draft rule of a what-if)."""

    reference_date = _date_field(_("基準日"))
    vaccines = forms.ModelMultipleChoiceField(queryset=Vaccine.objects.filter(is_active=True), label=_("ワクチン"),
                                              widget=forms.CheckboxSelectMultiple)
    min_age = forms.IntegerField(label=_("対象年齢（下限）"), required=False, min_value=0, max_value=150)
    max_age = forms.IntegerField(label=_("対象年齢（上限）"), required=False, min_value=0, max_value=150)
    allow_non_residents = forms.BooleanField(label=_("住登外者を対象に含める"), required=False)
    allow_later_move_in = forms.BooleanField(label=_("基準日後の転入者を対象に含める"), required=False)
    priority_groups = forms.ModelMultipleChoiceField(
        queryset=PriorityGroup.objects.filter(is_active=True), label=_("優先接種グループ（いずれかに該当）"),
        required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("選択しない場合は、グループに関係なく対象とします。"),
    )
    dose_number = forms.IntegerField(label=_("接種回（何回目）"), min_value=1, max_value=9, initial=1, required=False,
                                     help_text=_("空欄なら何回目かを問いません（上限と間隔のみ）。"))
    max_doses = forms.IntegerField(label=_("接種回数の上限"), required=False, min_value=1, max_value=9)
    min_interval_days = forms.IntegerField(label=_("前回接種からの最短間隔（日）"), required=False, min_value=0,
                                           max_value=3650)

    RULE_KEYS = ("reference_date", "vaccines", "min_age", "max_age", "allow_non_residents", "allow_later_move_in",
                 "priority_groups", "dose_number", "max_doses", "min_interval_days")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("min_age"), data.get("max_age")
        if low is not None and high is not None and high < low:
            self.add_error("max_age", _("対象年齢の上限が下限より小さくなっています。"))
        return data

    def rule_data(self) -> dict[str, Any]:
        return {k: self.cleaned_data.get(k) for k in self.RULE_KEYS}

    def draft_rule(self) -> Rule:
        d = self.cleaned_data
        groups = list(d.get("priority_groups") or [])
        return Rule(
            vaccine_codes=frozenset(v.code for v in d["vaccines"]), min_age=d.get("min_age"),
            max_age=d.get("max_age"), allow_non_residents=bool(d.get("allow_non_residents")),
            allow_later_move_in=bool(d.get("allow_later_move_in")),
            priority_groups=frozenset(g.code for g in groups), dose_number=d.get("dose_number"),
            max_doses=d.get("max_doses"), min_interval_days=d.get("min_interval_days"),
            priority_group_names={g.code: g.name for g in groups},
        )

    @staticmethod
    def initial_from(rule: CampaignRule) -> dict[str, Any]:
        return {
            "reference_date": rule.reference_date.isoformat(), "vaccines": list(rule.vaccines.all()),
            "min_age": rule.min_age, "max_age": rule.max_age, "allow_non_residents": rule.allow_non_residents,
            "allow_later_move_in": rule.allow_later_move_in, "priority_groups": list(rule.priority_groups.all()),
            "dose_number": rule.dose_number, "max_doses": rule.max_doses,
            "min_interval_days": rule.min_interval_days,
        }


class CampaignForm(RuleFields):
    name = forms.CharField(label=_("事業名"), max_length=100)
    period_start = _date_field(_("接種期間（開始）"))
    period_end = _date_field(_("接種期間（終了）"))
    ticket_type = forms.IntegerField(label=_("券種（接種券のOCR先頭1桁）"), min_value=0, max_value=9, initial=1)

    field_order = ["name", "period_start", "period_end", "ticket_type"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and end < start:
            self.add_error("period_end", _("接種期間の終了日が開始日より前です。"))
        return data

    @staticmethod
    def initial_for(campaign: Campaign) -> dict[str, Any]:
        return {"name": campaign.name, "period_start": campaign.period_start.isoformat(),
                "period_end": campaign.period_end.isoformat(), "ticket_type": campaign.ticket_type,
                **RuleFields.initial_from(campaign.current_rule)}


class CheckForm(forms.Form):
    """The applicant's details as written on the application form."""

    campaign = forms.ModelChoiceField(queryset=Campaign.objects.all(), label=_("接種事業"))
    as_of = _date_field(_("判定日"), required=False,
                        help_text=_("空欄なら事業の基準日。接種日時点の判定は接種日を入力します。"))
    name = forms.CharField(label=_("氏名"), max_length=100, required=False)
    name_kana = forms.CharField(label=_("氏名の振り仮名"), max_length=100, required=False)
    birth_date = _date_field(_("生年月日"))
    sex = forms.TypedChoiceField(label=_("性別"), choices=[("", "—"), *Sex.choices], coerce=int, required=False,
                                 empty_value=None)
    address = forms.CharField(label=_("住所"), max_length=200, required=False)
    address_number = forms.RegexField(label=_("団体内宛名番号"), regex=r"^\d{1,15}$", required=False,
                                      error_messages={"invalid": _("宛名番号は数字15桁以内です。")})
    my_number = forms.CharField(label=_("個人番号"), required=False, max_length=20,
                                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                                help_text=_("記載がある場合のみ。保存されず、照合にだけ使います。"))

    def clean_my_number(self) -> str:
        raw = self.cleaned_data.get("my_number", "")
        if not raw:
            return ""
        try:
            return normalize_my_number(raw)
        except MyNumberError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not any(data.get(k) for k in ("name", "name_kana", "address_number", "my_number")):
            raise forms.ValidationError(_("氏名、カナ、宛名番号、個人番号のいずれかを入力してください。"))
        return data


class ConfirmForm(forms.Form):
    resident_id = forms.IntegerField(widget=forms.HiddenInput)


class DecideForm(forms.Form):
    campaign = forms.ModelChoiceField(queryset=Campaign.objects.all(), label=_("接種事業"))
    as_of = _date_field(_("判定日"), required=False, help_text=_("空欄なら事業の基準日。"))


class PriorityGroupForm(forms.Form):
    group = forms.ModelChoiceField(queryset=PriorityGroup.objects.filter(is_active=True), label=_("優先接種グループ"))
    application_reference = forms.CharField(label=_("申請受付番号"), max_length=50)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("理由"), max_length=200,
                             widget=forms.TextInput(attrs={"autocomplete": "off"}))
