"""The certificate issue form: an optional vaccine to limit the certificate to, and for a protected
person (支援措置) the reason for issuing, which the audit trail keeps."""

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from records.models import Vaccine


class CertificateIssueForm(forms.Form):
    vaccine = forms.ModelChoiceField(
        label=_("ワクチン"), queryset=Vaccine.objects.none(), required=False, empty_label=_("すべてのワクチン"),
        help_text=_("特定のワクチンの接種済証にするときに選びます。"),
    )

    purpose = forms.CharField(
        label=_("発行の理由"), max_length=200, required=False,
        help_text=_("支援措置の対象者の場合は必須です（例：本人が窓口で申請、本人確認済み）。監査記録に残ります。"),
    )

    def __init__(self, *args: Any, vaccines: list[Vaccine], protected: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if protected:
            self.fields["purpose"].required = True
        else:
            del self.fields["purpose"]
        field = cast(forms.ModelChoiceField, self.fields["vaccine"])
        field.queryset = Vaccine.objects.filter(pk__in=[v.pk for v in vaccines]).order_by("code")
