"""The certificate issue form: an optional vaccine to limit the certificate to."""

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from records.models import Vaccine


class CertificateIssueForm(forms.Form):
    vaccine = forms.ModelChoiceField(
        label=_("ワクチン"), queryset=Vaccine.objects.none(), required=False, empty_label=_("すべてのワクチン"),
        help_text=_("特定のワクチンの接種済証にするときに選びます。"),
    )

    def __init__(self, *args: Any, vaccines: list[Vaccine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["vaccine"])
        field.queryset = Vaccine.objects.filter(pk__in=[v.pk for v in vaccines]).order_by("code")
