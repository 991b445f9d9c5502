"""Browser forms of records: resident search and the 16-item vaccination record form.

Forms only parse what staff type (every date form of records.rules.dates, year-months, My Number
format); the rules of a record live in records.rules.vaccination and are applied by the services, whose
ValidationErrors the views put back on the fields with ``add_service_errors``.
"""

import unicodedata
from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from records.models import (
    Clinic,
    ExaminationCategory,
    PaymentCategory,
    Resident,
    VaccinationRecord,
    Vaccine,
)
from records.rules.dates import DateParseError, parse_date, parse_year_month
from records.rules.mynumber import MyNumberError, normalize_my_number
from records.selectors import ResidentQuery

DATE_PLACEHOLDER = "2025-04-01 / 令和7年4月1日"
MONTH_PLACEHOLDER = "2025-04 / 令和7年4月"

class NoEchoTextInput(forms.TextInput):
    """A text input that never renders the submitted value back into the page (for My Number: a
    re-rendered form must not carry it into the HTML, the browser cache or a screenshot)."""

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        return super().get_context(name, None, attrs)


class EraDateField(forms.Field):
    """A date typed in any form records.rules.dates.parse_date accepts (ISO, slashes, 8 digits, era)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput(attrs={"placeholder": DATE_PLACEHOLDER, "maxlength": 20,
                                                           "autocomplete": "off"}))
        super().__init__(**kwargs)

    def parse(self, text: str) -> date:
        return parse_date(text)

    def to_python(self, value: Any) -> date | None:
        if isinstance(value, date):
            return value
        text = str(value).strip() if value is not None else ""
        if not text:
            return None
        try:
            return self.parse(text)
        except DateParseError as exc:
            raise ValidationError(exc.message, code=exc.code) from None

    def prepare_value(self, value: Any) -> Any:
        return value.isoformat() if isinstance(value, date) else value


class YearMonthField(EraDateField):
    """A billing month (請求年月); held as the first day of the month."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput(attrs={"placeholder": MONTH_PLACEHOLDER, "maxlength": 20,
                                                           "autocomplete": "off"}))
        super().__init__(**kwargs)

    def parse(self, text: str) -> date:
        return parse_year_month(text)

    def prepare_value(self, value: Any) -> Any:
        return value.strftime("%Y-%m") if isinstance(value, date) else value


class ResidentSearchForm(forms.Form):
    """All given criteria must match. Sent by POST only: the criteria are personal data."""

    address_number = forms.CharField(
        label=_("宛名番号"), max_length=15, required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    kana = forms.CharField(
        label=_("カナ氏名"), max_length=100, required=False,
        help_text=_("前方一致。全角・半角、ひらがな、空白の有無は区別しません。"),
        widget=forms.TextInput(attrs={"placeholder": "コシガヤ ハナコ", "autocomplete": "off"}),
    )
    name = forms.CharField(label=_("氏名"), max_length=100, required=False,
                           help_text=_("部分一致。空白の有無は区別しません。"),
                           widget=forms.TextInput(attrs={"autocomplete": "off"}))
    birth_date = EraDateField(label=_("生年月日"), required=False)
    my_number = forms.CharField(
        label=_("個人番号"), max_length=30, required=False,
        help_text=_("12桁の完全一致。入力した番号は検索後に画面に再表示しません。"),
        widget=NoEchoTextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"}),
    )

    def clean_address_number(self) -> str:
        value = unicodedata.normalize("NFKC", self.cleaned_data["address_number"]).strip()
        if value and not value.isdigit():
            raise ValidationError(_("宛名番号は数字で入力してください。"), code="address_number")
        return value

    def clean_my_number(self) -> str:
        raw = self.cleaned_data["my_number"]
        if not raw:
            return ""
        try:
            return normalize_my_number(raw)
        except MyNumberError as exc:
            # The message never repeats the value (MyNumberError guarantees it).
            raise ValidationError(exc.message, code=exc.code) from None

    def clean(self) -> dict[str, Any]:
        super().clean()
        if not self.errors and self.to_query().is_empty():
            raise ValidationError(_("検索条件を1つ以上入力してください。"), code="empty")
        return self.cleaned_data

    def to_query(self) -> ResidentQuery:
        data = self.cleaned_data
        return ResidentQuery(
            address_number=data.get("address_number", ""),
            kana=data.get("kana", ""),
            name=data.get("name", ""),
            birth_date=data.get("birth_date"),
            my_number=data.get("my_number", ""),
        )


class ClinicChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.code} {obj.name}"


class VaccineChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.code} {obj.name}（{obj.maker}）"


def _model_label(name: str) -> str:
    try:
        return str(getattr(VaccinationRecord._meta.get_field(name), "verbose_name", name))
    except FieldDoesNotExist:
        return name


class VaccinationRecordForm(forms.Form):
    """The 16 items of a vaccination record (and the free-text place of a pre-move-in dose). Field names
    are those of the services, so their ValidationErrors land on the right field."""

    vaccinated_on = EraDateField(label=_("接種日"))
    clinic = ClinicChoiceField(label=_("接種場所"), queryset=Clinic.objects.none(), required=False,
                               empty_label=_("（選択してください）"),
                               help_text=_("医療機関コードと名称。転入前接種で市外の場所なら空欄にします。"))
    before_move_in = forms.BooleanField(label=_("転入前接種"), required=False,
                                        help_text=_("転入前に他の自治体等で受けた接種（接種済証等による登録）"))
    place_text = forms.CharField(label=_("接種場所（転入前）"), max_length=200, required=False,
                                 help_text=_("転入前接種で医療機関を選択しない場合に入力します。"))
    age_at_vaccination = forms.IntegerField(
        label=_("接種時年齢"), min_value=0, max_value=150, required=False,
        help_text=_("接種日時点の年齢は自動計算されます（空欄のまま登録すると生年月日から計算します）。"),
    )
    billing_month = YearMonthField(label=_("請求年月"))
    examination_category = forms.TypedChoiceField(label=_("診察区分"), choices=ExaminationCategory.choices,
                                                  coerce=int, initial=ExaminationCategory.VACCINATED)
    vaccine = VaccineChoiceField(label=_("ワクチン"), queryset=Vaccine.objects.none(),
                                 empty_label=_("（選択してください）"))
    lot_number = forms.CharField(label=_("LOT-NO"), max_length=20, required=False,
                                 help_text=_("英大文字・数字・ハイフン。予診のみの場合は空欄可。"),
                                 widget=forms.TextInput(attrs={"autocomplete": "off", "class": "mono"}))
    dose_ml = forms.DecimalField(label=_("接種量（mL）"), max_digits=4, decimal_places=2, min_value=0,
                                 help_text=_("予診のみの場合は0。"))
    screening_doctor = forms.CharField(label=_("予診医師名"), max_length=50)
    vaccinating_doctor = forms.CharField(label=_("接種医師名"), max_length=50, required=False,
                                         help_text=_("予診のみの場合は空欄。"))
    payment_category = forms.TypedChoiceField(label=_("公費自費区分"), choices=PaymentCategory.choices,
                                              coerce=int, initial=PaymentCategory.PUBLIC)
    fee_yen = forms.IntegerField(label=_("委託料（円）"), min_value=0)
    remarks1 = forms.CharField(label=_("備考1"), max_length=200, required=False)
    remarks2 = forms.CharField(label=_("備考2"), max_length=200, required=False)
    remarks3 = forms.CharField(label=_("備考3"), max_length=200, required=False)

    def __init__(self, *args: Any, resident: Resident, record: VaccinationRecord | None = None,
                 **kwargs: Any) -> None:
        if record is not None:
            kwargs.setdefault("initial", self.initial_from(record))
        super().__init__(*args, **kwargs)
        self.resident = resident
        # Masters that have been retired stay selectable on the records that already use them.
        fields: dict[str, Any] = self.fields
        clinic_id, vaccine_id = (record.clinic_id, record.vaccine_id) if record else (None, None)
        fields["clinic"].queryset = self._active(Clinic.objects.all(), clinic_id)
        fields["vaccine"].queryset = self._active(Vaccine.objects.all(), vaccine_id)

    @staticmethod
    def _active(qs: QuerySet[Any], keep_pk: int | None) -> QuerySet[Any]:
        condition = Q(is_active=True) | Q(pk=keep_pk) if keep_pk is not None else Q(is_active=True)
        return qs.filter(condition).order_by("code")

    @classmethod
    def initial_from(cls, record: VaccinationRecord) -> dict[str, Any]:
        return {name: getattr(record, name) for name in cls.base_fields}

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        vaccinated_on = cleaned.get("vaccinated_on")
        age_missing = cleaned.get("age_at_vaccination") is None and "age_at_vaccination" not in self.errors
        # Without a valid 接種日 that field carries its own error; the age follows once it is fixed.
        if age_missing and vaccinated_on is not None:
            if vaccinated_on < self.resident.birth_date:
                self.add_error("vaccinated_on", ValidationError(
                    _("接種日が生年月日（%(birth)s）より前です。"), code="vaccinated_on_before_birth",
                    params={"birth": self.resident.birth_date.isoformat()},
                ))
            else:
                # Prefilled with the legal age; a typed age is kept and must equal it (service rule).
                cleaned["age_at_vaccination"] = self.resident.age_on(vaccinated_on)
        return cleaned

    def service_data(self) -> dict[str, Any]:
        """The cleaned values under the services' argument names."""
        return {name: self.cleaned_data[name] for name in self.fields}


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: each message under the field the service names, and
    anything the form has no field for (duplicates, the resident) as a non-field error."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        target = field if field in form.fields else None
        if field != NON_FIELD_ERRORS and target is None:
            errors = [ValidationError(f"{_model_label(field)}: {message}") for e in errors for message in e]
        form.add_error(target, errors)


class RecordDeleteForm(forms.Form):
    reason = forms.CharField(
        label=_("削除の理由"), max_length=200,
        help_text=_("誤登録・二重登録など、削除する理由を記入してください。理由は監査記録に残ります。"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class MyNumberRevealForm(forms.Form):
    """The reason for showing a My Number in full; it is kept with the audit entry of the reveal."""

    purpose = forms.CharField(
        label=_("表示する理由"), max_length=200,
        help_text=_("例: 本人確認のため。理由は表示した記録とともに監査記録に残ります。"),
        # Not echoed: a refused reason may hold the very number it is refused for.
        widget=NoEchoTextInput(attrs={"autocomplete": "off", "placeholder": _("本人確認のため")}),
    )


class NonResidentRegisterForm(forms.Form):
    """A registered non-resident (住登外者) from a paper source: the basic items, and what was seen."""

    address_number = forms.CharField(label=_("宛名番号"), max_length=15,
                                     widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
    name = forms.CharField(label=_("氏名"), max_length=100)
    name_kana = forms.CharField(label=_("氏名カナ"), max_length=100)
    sex = forms.TypedChoiceField(label=_("性別"), coerce=int, choices=[(1, _("男")), (2, _("女"))])
    birth_date = EraDateField(label=_("生年月日"))
    postal_code = forms.CharField(label=_("郵便番号"), max_length=8, required=False,
                                  widget=forms.TextInput(attrs={"placeholder": "123-4567"}))
    address = forms.CharField(label=_("住所"), max_length=200, help_text=_("住民票のある市区町村の住所"))
    my_number = forms.CharField(
        label=_("個人番号"), max_length=30, required=False, help_text=_("任意。12桁。入力した番号は再表示しません。"),
        widget=NoEchoTextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"}),
    )
    registered_from = EraDateField(label=_("住登外登録日"), help_text=_("この日から住登外者として扱います。"))
    source_document = forms.CharField(
        label=_("確認した書類"), max_length=200,
        help_text=_("例: 住民票の写し（春日部市発行）、転出証明書。書類の写しは保存しません。"),
    )
    source_reference = forms.CharField(label=_("書類の番号・照会番号"), max_length=100, required=False)

    def clean_address_number(self) -> str:
        value = unicodedata.normalize("NFKC", self.cleaned_data["address_number"]).strip()
        if not value.isdigit():
            raise ValidationError(_("宛名番号は数字で入力してください。"), code="address_number")
        return value

    def clean_my_number(self) -> str:
        raw = self.cleaned_data["my_number"]
        if not raw:
            return ""
        try:
            return normalize_my_number(raw)
        except MyNumberError as exc:
            raise ValidationError(exc.message, code=exc.code) from None
class ProtectedViewReasonForm(forms.Form):
    """Why a protected person's (支援措置) record is to be viewed; kept with the access entries."""

    purpose = forms.CharField(
        label=_("閲覧する理由"), max_length=200,
        help_text=_("支援措置対象者の記録です。業務上の理由を入力してください。理由は監査記録に残ります。"),
        widget=NoEchoTextInput(attrs={"autocomplete": "off", "placeholder": _("接種記録の訂正のため")}),
    )
