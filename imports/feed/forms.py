"""The staff upload form of a change file. It only parses input; imports.feed.resident_feed_receive checks
and stores the file, and the view puts its refusals back on the form."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from imports.forms import oversize_refusal


class ResidentFeedUploadForm(forms.Form):
    file = forms.FileField(
        label=_("異動データ（CSV）"),
        help_text=_("住民記録システムから出力した異動データ。UTF-8（BOM有無どちらも可）またはShift_JIS（CP932）。"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        refusal = oversize_refusal(upload.size)
        if refusal is not None:
            raise refusal
        return upload
