"""Browser forms of rights. They parse what staff type; the rules (request channels, free texts that
must not hold a 12-digit number, decisions) live in rights.services, whose ValidationErrors the views put
back on the fields with records.forms.add_service_errors."""

import unicodedata
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from records.forms import EraDateField
from rights.models import (
    Channel,
    HandoverMethod,
    IdentityDocument,
    RequesterRelation,
    TicketKind,
    TicketStatus,
)
from rights.selectors import TicketCriteria

TEXTAREA = forms.Textarea(attrs={"rows": 4, "maxlength": 2000})


def _digits(value: str) -> str:
    value = unicodedata.normalize("NFKC", value or "").strip()
    if value and not value.isdigit():
        raise ValidationError(_("宛名番号は数字で入力してください。"), code="address_number")
    return value


class TicketSearchForm(forms.Form):
    """GET filters of the ticket list; none of them is a name (a person is found by 宛名番号)."""

    number = forms.CharField(label=_("受付番号"), max_length=20, required=False,
                             widget=forms.TextInput(attrs={"placeholder": "2026-000123", "autocomplete": "off"}))
    kind = forms.ChoiceField(label=_("種別"), choices=[("", _("すべて")), *TicketKind.choices], required=False)
    status = forms.ChoiceField(label=_("状態"), choices=[("", _("すべて")), *TicketStatus.choices], required=False)
    channel = forms.ChoiceField(label=_("受付方法"), choices=[("", _("すべて")), *Channel.choices], required=False)
    address_number = forms.CharField(label=_("対象者の宛名番号"), max_length=15, required=False,
                                     widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
    received_from = EraDateField(label=_("受付日（から）"), required=False)
    received_to = EraDateField(label=_("受付日（まで）"), required=False)

    def clean_address_number(self) -> str:
        return _digits(self.cleaned_data["address_number"])

    def criteria(self) -> TicketCriteria:
        data = self.cleaned_data
        return TicketCriteria(
            number=data.get("number", ""), kind=data.get("kind", ""), status=data.get("status", ""),
            channel=data.get("channel", ""), address_number=data.get("address_number", ""),
            received_from=data.get("received_from"), received_to=data.get("received_to"),
        )


class _ReceptionForm(forms.Form):
    address_number = forms.CharField(label=_("対象者の宛名番号"), max_length=15,
                                     widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
    received_on = EraDateField(label=_("受付日"))
    channel = forms.ChoiceField(label=_("受付方法"), choices=Channel.choices)
    requester_name = forms.CharField(label=_("申出者氏名"), max_length=100,
                                     widget=forms.TextInput(attrs={"autocomplete": "off"}))
    requester_relation = forms.ChoiceField(label=_("本人との関係"), choices=RequesterRelation.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("received_on", timezone.localdate())
        super().__init__(*args, **kwargs)

    def clean_address_number(self) -> str:
        return _digits(self.cleaned_data["address_number"])


class InquiryForm(_ReceptionForm):
    """問合せ: by counter, phone or mail; the person concerned is optional."""

    address_number = forms.CharField(label=_("対象者の宛名番号"), max_length=15, required=False,
                                     help_text=_("特定の方についての問合せの場合に入力します。"),
                                     widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
    requester_contact = forms.CharField(label=_("申出者連絡先"), max_length=100, required=False,
                                        widget=forms.TextInput(attrs={"autocomplete": "off"}))
    subject = forms.CharField(label=_("問合せの内容"), max_length=2000, widget=TEXTAREA)
    field_order = ["received_on", "channel", "requester_name", "requester_relation", "requester_contact",
                   "address_number", "subject"]


class _RequestForm(_ReceptionForm):
    channel = forms.ChoiceField(
        label=_("受付方法"), choices=[(c.value, c.label) for c in (Channel.COUNTER, Channel.MAIL)],
        help_text=_("本人確認書類の提示と書面による請求のみ受け付けます（電話・FAXは不可）。"),
    )
    identity_document = forms.ChoiceField(
        label=_("本人確認書類"), choices=IdentityDocument.choices,
        help_text=_("確認した書類の種類のみ記録します。書類の番号や写し、個人番号は記録しません。"),
    )
    identity_note = forms.CharField(label=_("本人確認の補足"), max_length=200, required=False,
                                    help_text=_("代理人の場合の委任状・資格書類の確認など。"))


class DisclosureForm(_RequestForm):
    subject = forms.CharField(label=_("請求の内容"), max_length=2000, required=False, widget=TEXTAREA,
                              help_text=_("空欄の場合は「保有個人情報（予防接種記録）の開示」とします。"))


class CorrectionForm(_RequestForm):
    record = forms.TypedChoiceField(label=_("対象の接種記録"), coerce=int, required=False, empty_value=None,
                                    help_text=_("訂正を求める接種記録。宛名情報（基本5情報）の訂正は住民記録の担当課で行います。"))
    requested_change = forms.CharField(label=_("訂正を求める内容"), max_length=2000, widget=TEXTAREA)

    def __init__(self, *args: Any, record_choices: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["record"]
        field.choices = [("", _("（接種記録を特定しない）")), *(record_choices or [])]
        if record_choices is None:
            field.help_text = _("接種記録を選ぶには、宛名の画面の「訂正請求を受付」から開いてください。")


class SuspensionForm(_RequestForm):
    grounds = forms.CharField(label=_("請求の理由"), max_length=2000, widget=TEXTAREA)


class TicketAnswerForm(forms.Form):
    answer = forms.CharField(label=_("回答・対応の内容"), max_length=2000, widget=TEXTAREA)
    close = forms.BooleanField(label=_("対応を完了する"), required=False)


class HandoverForm(forms.Form):
    document = forms.TypedChoiceField(label=_("交付した文書"), coerce=int)
    method = forms.ChoiceField(label=_("交付方法"), choices=HandoverMethod.choices)
    handed_over_on = EraDateField(label=_("交付日"))

    def __init__(self, *args: Any, documents: list[tuple[int, str]], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("handed_over_on", timezone.localdate())
        super().__init__(*args, **kwargs)
        field: Any = self.fields["document"]
        field.choices = documents


class DecisionForm(forms.Form):
    """Grant or refuse a suspension; lift one."""

    decision = forms.ChoiceField(label=_("決定"),
                                 choices=[("grant", _("利用停止する")), ("reject", _("利用停止しない"))])
    reason = forms.CharField(label=_("決定の理由"), max_length=2000, widget=TEXTAREA)


class LiftForm(forms.Form):
    reason = forms.CharField(label=_("解除の理由"), max_length=2000, widget=TEXTAREA)


class CorrectionDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("決定"),
        choices=[("apply", _("訂正する（下の接種記録を訂正）")), ("delete", _("訂正する（接種記録を削除）")),
                 ("reject", _("訂正しない"))],
    )
    reason = forms.CharField(label=_("決定の理由"), max_length=2000, widget=TEXTAREA)


class ProtectionForm(forms.Form):
    address_number = forms.CharField(label=_("宛名番号"), max_length=15,
                                     widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
    action = forms.ChoiceField(label=_("操作"),
                               choices=[("set", _("支援措置対象に設定")), ("clear", _("支援措置を解除"))])
    reference = forms.CharField(label=_("根拠文書の番号等"), max_length=100,
                                help_text=_("支援措置申出書の受付番号、決定通知の番号など。"))
    reason = forms.CharField(label=_("理由"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_address_number(self) -> str:
        return _digits(self.cleaned_data["address_number"])

