"""Staff API for residents and their vaccination records. One class per operation: each parses its input
with a nested InputSerializer, calls one selector or service (the same ones the browser forms use), and
renders a nested OutputSerializer. Permissions are declared per class and checked by
accounts.permissions.DeclaredPermission; errors take the shape of koshigaya_vax.api.exception_handler.

Personal data stays out of URLs: the search takes its criteria in a POST body. The My Number is accepted
as a search criterion and returned masked, except by the reveal endpoint, which asks for a reason and
records it.

Every response that shows personal data records it (``JsonApi.record_access``, right after the
selector), as the browser pages do: one read-access entry per resident shown (a search one per resident
in the page returned; a resident's vaccination history one for that resident), plus one for the record
on the record endpoint. The responses of writes (create, correct) are covered by the write's own entry.
"""

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Model
from django.utils.cache import add_never_cache_headers
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from audit.services import audit_access_record
from koshigaya_vax.api import ErrorSerializer
from records.models import (
    Clinic,
    ExaminationCategory,
    PaymentCategory,
    RecordSource,
    ResidencyStatus,
    Sex,
    Vaccine,
)
from records.permissions import ADD_RECORD, CHANGE_RECORD, REVEAL_MY_NUMBER, VIEW_RECORD, VIEW_RESIDENT
from records.rules.dates import DateParseError, parse_date, parse_year_month
from records.rules.mynumber import MyNumberError, normalize_my_number
from records.selectors import (
    SEARCH_LIMIT,
    ResidentQuery,
    resident_get,
    resident_search,
    vaccination_record_get,
    vaccination_record_list,
)
from records.services import (
    REVEAL_PURPOSE_MAX_LENGTH,
    my_number_reveal,
    vaccination_record_create,
    vaccination_record_update,
)

ERROR_RESPONSES = {401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}
INPUT_ERROR_RESPONSES = {400: ErrorSerializer, **ERROR_RESPONSES}
RECORD_ITEMS_DESCRIPTION = (
    "接種記録の16項目。日付は ISO のほか和暦（令和7年4月1日、R7.4.1）も可、請求年月は YYYY-MM、"
    "接種場所は医療機関コード、ワクチンはワクチンコードで指定します。項目間の規則（予診のみなら接種量0、"
    "接種時年齢は接種日時点の年齢 など）に反すると 400 で項目ごとのメッセージを返します。"
)

# --- Fields ------------------------------------------------------------------------------------------


@extend_schema_field({
    "type": "string",
    "example": "2025-04-01",
    "description": "ISO 8601（2025-04-01）。2025/04/01、20250401、令和7年4月1日、R7.4.1 も受け付けます。",
})
class FlexibleDateField(serializers.Field):
    """A date in any form records.rules.dates.parse_date accepts; written back in ISO."""

    default_error_messages = {"invalid": "日付は文字列で入力してください。"}

    def to_internal_value(self, data: Any) -> date:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            return parse_date(data)
        except DateParseError as exc:
            raise serializers.ValidationError(exc.message, code=exc.code) from None

    def to_representation(self, value: date) -> str:
        return value.isoformat()




@extend_schema_field({"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$", "example": "2025-11"})
class YearMonthField(serializers.Field):
    """請求年月: read in any form records.rules.dates.parse_year_month accepts, written as ``YYYY-MM``;
    held as the first day of the month."""

    default_error_messages = {"invalid": "年月の形式が不正です（例: 2025-04、202504、令和7年4月、R7.4）。"}

    def to_internal_value(self, data: Any) -> date:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            return parse_year_month(data)
        except DateParseError as exc:
            raise serializers.ValidationError(exc.message, code=exc.code) from None

    def to_representation(self, value: date) -> str:
        return f"{value.year:04d}-{value.month:02d}"


class StrictInputSerializer(serializers.Serializer):
    """Refuses items it does not declare instead of silently dropping them: only the needed items are
    captured (SPEC, risk controls). Unknown keys are named only when they look like field names, so a
    value typed as a key (a number, say) is never echoed."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = set(data) - set(self.fields)
            if unknown:
                names = sorted(k for k in unknown if isinstance(k, str) and k.isidentifier() and len(k) <= 40)
                message = "受け付けない項目が含まれています。"
                if names:
                    message += f"（{', '.join(names)}）"
                raise serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [message]})
        return super().to_internal_value(data)


class RecordItemsSerializer(StrictInputSerializer):
    """The 16 items of a vaccination record (and the place text of a pre-move-in dose), as staff enter
    them. Cross-field rules are the service's (records.rules.vaccination), not repeated here."""

    vaccinated_on = FlexibleDateField(label="接種日")
    clinic = serializers.SlugRelatedField(
        slug_field="code", queryset=Clinic.objects.all(), required=False, allow_null=True, label="接種場所",
        help_text="医療機関コード（10桁）。転入前接種で医療機関がない場合は null。",
        error_messages={"does_not_exist": "この医療機関コードは登録されていません。",
                        "invalid": "医療機関コードが不正です。"},
    )
    place_text = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                       label="接種場所（転入前）")
    age_at_vaccination = serializers.IntegerField(min_value=0, max_value=150, label="接種時年齢")
    billing_month = YearMonthField(label="請求年月")
    examination_category = serializers.ChoiceField(
        choices=ExaminationCategory.choices, label="診察区分",
        error_messages={"invalid_choice": "診察区分は1（接種）か2（予診のみ）です。"},
    )
    lot_number = serializers.CharField(max_length=20, required=False, allow_blank=True, label="LOT-NO")
    vaccine = serializers.SlugRelatedField(
        slug_field="code", queryset=Vaccine.objects.all(), label="ワクチン", help_text="ワクチンコード。",
        error_messages={"does_not_exist": "このワクチンコードは登録されていません。",
                        "invalid": "ワクチンコードが不正です。"},
    )
    before_move_in = serializers.BooleanField(
        required=False, default=False, label="転入前接種",
        error_messages={"invalid": "転入前接種は true か false で指定してください。"},
    )
    screening_doctor = serializers.CharField(max_length=50, label="予診医師名")
    vaccinating_doctor = serializers.CharField(max_length=50, required=False, allow_blank=True,
                                               label="接種医師名")
    payment_category = serializers.ChoiceField(
        choices=PaymentCategory.choices, label="公費自費区分",
        error_messages={"invalid_choice": "公費自費区分は1（公費）か2（自費）です。"},
    )
    fee_yen = serializers.IntegerField(min_value=0, label="委託料")
    dose_ml = serializers.DecimalField(max_digits=4, decimal_places=2, min_value=Decimal("0"), label="接種量")
    remarks1 = serializers.CharField(max_length=200, required=False, allow_blank=True, label="備考1")
    remarks2 = serializers.CharField(max_length=200, required=False, allow_blank=True, label="備考2")
    remarks3 = serializers.CharField(max_length=200, required=False, allow_blank=True, label="備考3")


@extend_schema_serializer(component_name="ClinicSummary")
class _CodeNameSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


def url_name(request: Request) -> str:
    """The URL name the request resolved to (never the path: that may carry a query string)."""
    match = request.resolver_match
    return match.view_name if match is not None else ""


class JsonApi(APIView):
    """Base of the API classes: JSON bodies only (no form posts, so nothing arrives by a cross-site form
    and the schema documents one content type)."""

    parser_classes = [JSONParser]
    required_permission: str

    def record_access(self, request: Request, objects: Sequence[Model]) -> None:
        """Record that ``objects`` are shown in this response: one read-access entry each, in one insert,
        naming the endpoint's URL name and the permission that made it reachable."""
        audit_access_record(actor=request.user, objects=objects, view=url_name(request),
                            permission=self.required_permission)


# --- Residents ---------------------------------------------------------------------------------------

# What a protected person's (支援措置) answers leave out: the API has no step asking for a reason, so the
# address never leaves through it; the full record opens only on the browser page, after a reason.
PROTECTED_MASKED_FIELDS = ("postal_code", "address", "address_detail")


def mask_if_protected(resident: Any, data: Any) -> Any:
    if getattr(resident, "is_protected", False):
        for name in PROTECTED_MASKED_FIELDS:
            if name in data:
                data[name] = ""
    return data


class ResidentDetailApi(JsonApi):
    required_permission = VIEW_RESIDENT

    @extend_schema_serializer(component_name="ResidentDetail")
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        address_number = serializers.CharField(label="団体内宛名番号")
        my_number_masked = serializers.CharField(label="個人番号（マスク）",
                                                 help_text="下4桁のみ。全桁は個人番号の表示（理由が必要）でのみ返します。")
        name = serializers.CharField(label="氏名")
        name_kana = serializers.CharField(label="氏名の振り仮名")
        sex = serializers.ChoiceField(choices=Sex.choices, label="性別", help_text="JIS X 0303")
        birth_date = serializers.DateField(label="生年月日")
        postal_code = serializers.CharField(label="郵便番号")
        address = serializers.CharField(label="住所")
        address_detail = serializers.CharField(label="方書")
        phone = serializers.CharField(label="連絡先")
        residency_status = serializers.ChoiceField(choices=ResidencyStatus.choices, label="住民状態")
        is_protected = serializers.BooleanField(
            label="支援措置対象", help_text="true のとき郵便番号・住所・方書は返しません（空文字）。")
        use_suspended = serializers.BooleanField(label="利用停止中")
        moved_in_on = serializers.DateField(allow_null=True, label="転入日")
        moved_out_on = serializers.DateField(allow_null=True, label="転出日")
        died_on = serializers.DateField(allow_null=True, label="死亡日")

    @extend_schema(
        operation_id="resident_retrieve", summary="宛名の詳細", tags=["residents"],
        description="基本5情報、連絡先、住民状態。個人番号は下4桁のみ（マスク）。",
        responses={200: OutputSerializer, **ERROR_RESPONSES},
    )
    def get(self, request: Request, pk: int) -> Response:
        resident = resident_get(actor=request.user, pk=pk)
        self.record_access(request, [resident])
        return Response(mask_if_protected(resident, self.OutputSerializer(resident).data))


class ResidentMyNumberRevealApi(JsonApi):
    """The full My Number of one resident, for a stated reason. POST only, so neither the reason nor the
    answer ends up in a URL; the answer is never cached."""

    required_permission = REVEAL_MY_NUMBER

    @extend_schema_serializer(component_name="MyNumberRevealRequest")
    class InputSerializer(StrictInputSerializer):
        purpose = serializers.CharField(
            max_length=REVEAL_PURPOSE_MAX_LENGTH, label="表示する理由",
            help_text="例: 本人確認のため。監査記録に残ります（12桁の数字は含められません）。",
        )

    @extend_schema_serializer(component_name="MyNumberReveal")
    class OutputSerializer(serializers.Serializer):
        my_number = serializers.CharField(label="個人番号", help_text="12桁（全桁）。")

    @extend_schema(
        operation_id="resident_my_number_reveal", summary="個人番号の表示", tags=["residents"],
        description=(
            "宛名の個人番号を全桁で返します。理由（purpose）が必須で、表示した事実・理由・利用者は監査記録に"
            "残ります。応答はキャッシュされません（Cache-Control: no-store）。"
        ),
        request=InputSerializer,
        responses={200: OutputSerializer, **INPUT_ERROR_RESPONSES},
    )
    @sensitive_variables("my_number")
    def post(self, request: Request, pk: int) -> Response:
        resident = resident_get(actor=request.user, pk=pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        my_number = my_number_reveal(actor=request.user, resident=resident,
                                     purpose=serializer.validated_data["purpose"], view=url_name(request))
        response = Response(self.OutputSerializer({"my_number": my_number}).data)
        add_never_cache_headers(response)
        return response


class ResidentSearchApi(JsonApi):
    """Search by POST so that no criterion (a My Number, a name, a birth date) ends up in a URL."""

    required_permission = VIEW_RESIDENT

    @extend_schema_serializer(
        component_name="ResidentSearch",
        description="検索条件。指定した条件すべてに一致する宛名を返します（1つ以上必須）。",
    )
    class InputSerializer(StrictInputSerializer):
        address_number = serializers.CharField(max_length=15, required=False, allow_blank=True,
                                               label="団体内宛名番号", help_text="完全一致")
        kana = serializers.CharField(max_length=100, required=False, allow_blank=True, label="氏名カナ",
                                     help_text="前方一致（全角・半角、空白の有無を問いません）")
        name = serializers.CharField(max_length=100, required=False, allow_blank=True, label="氏名",
                                     help_text="部分一致")
        birth_date = FlexibleDateField(required=False, allow_null=True, label="生年月日")
        my_number = serializers.CharField(
            max_length=40, required=False, allow_blank=True, write_only=True, label="個人番号",
            help_text="完全一致（12桁、検査用数字を確認します）",
        )
        limit = serializers.IntegerField(min_value=1, max_value=SEARCH_LIMIT, default=50)
        offset = serializers.IntegerField(min_value=0, default=0)

        def validate_my_number(self, value: str) -> str:
            if not value:
                return ""
            try:
                return normalize_my_number(value)
            except MyNumberError as exc:  # its message never repeats the value
                raise serializers.ValidationError(exc.message, code=exc.code) from None

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            criteria = ("address_number", "kana", "name", "birth_date", "my_number")
            if not any(attrs.get(name) for name in criteria):
                raise serializers.ValidationError("検索条件を1つ以上入力してください。", code="no_criteria")
            return attrs

    @extend_schema_serializer(component_name="ResidentSearchResults")
    class OutputSerializer(serializers.Serializer):
        @extend_schema_serializer(component_name="ResidentSummary")
        class ResultSerializer(serializers.Serializer):
            id = serializers.IntegerField()
            address_number = serializers.CharField(label="団体内宛名番号")
            my_number_masked = serializers.CharField(label="個人番号（マスク）")
            name = serializers.CharField(label="氏名")
            name_kana = serializers.CharField(label="氏名の振り仮名")
            sex = serializers.ChoiceField(choices=Sex.choices, label="性別")
            birth_date = serializers.DateField(label="生年月日")
            address = serializers.CharField(label="住所", help_text="支援措置対象者は空文字。")
            residency_status = serializers.ChoiceField(choices=ResidencyStatus.choices, label="住民状態")
            is_protected = serializers.BooleanField(label="支援措置対象")

        count = serializers.IntegerField(help_text="条件に一致した件数（limit/offset とは無関係）")
        limit = serializers.IntegerField()
        offset = serializers.IntegerField()
        results = ResultSerializer(many=True)

    @extend_schema(
        operation_id="resident_search", summary="宛名の検索", tags=["residents"],
        description=(
            "検索条件は URL に残らないよう本文（JSON）で送ります。個人番号は完全一致、カナは前方一致。"
        ),
        request=InputSerializer,
        responses={200: OutputSerializer, 400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        query = ResidentQuery(
            address_number=data.get("address_number", ""),
            kana=data.get("kana", ""),
            name=data.get("name", ""),
            birth_date=data.get("birth_date"),
            my_number=data.get("my_number", ""),
        )
        residents = resident_search(actor=request.user, query=query)
        limit, offset = data["limit"], data["offset"]
        results = list(residents[offset:offset + limit])
        self.record_access(request, results)
        page = {"count": residents.count(), "limit": limit, "offset": offset, "results": results}
        data = self.OutputSerializer(page).data
        data["results"] = [mask_if_protected(r, row) for r, row in zip(results, data["results"], strict=True)]
        return Response(data)


# --- Vaccination records -----------------------------------------------------------------------------


class VaccinationRecordDetailApi(JsonApi):
    required_permission = VIEW_RECORD

    @extend_schema_serializer(component_name="VaccinationRecord")
    class OutputSerializer(serializers.Serializer):
        @extend_schema_serializer(component_name="VaccineSummary")
        class VaccineSerializer(_CodeNameSerializer):
            maker = serializers.CharField()

        id = serializers.IntegerField()
        resident = serializers.IntegerField(source="resident_id", label="宛名ID")
        vaccinated_on = serializers.DateField(label="接種日")
        clinic = _CodeNameSerializer(allow_null=True, label="接種場所")
        place_text = serializers.CharField(label="接種場所（転入前）")
        age_at_vaccination = serializers.IntegerField(label="接種時年齢")
        billing_month = YearMonthField(label="請求年月")
        examination_category = serializers.ChoiceField(choices=ExaminationCategory.choices, label="診察区分")
        lot_number = serializers.CharField(label="LOT-NO")
        vaccine = VaccineSerializer(label="ワクチン")
        before_move_in = serializers.BooleanField(label="転入前接種")
        screening_doctor = serializers.CharField(label="予診医師名")
        vaccinating_doctor = serializers.CharField(label="接種医師名")
        payment_category = serializers.ChoiceField(choices=PaymentCategory.choices, label="公費自費区分")
        fee_yen = serializers.IntegerField(label="委託料")
        dose_ml = serializers.DecimalField(max_digits=4, decimal_places=2, label="接種量")
        remarks1 = serializers.CharField(label="備考1")
        remarks2 = serializers.CharField(label="備考2")
        remarks3 = serializers.CharField(label="備考3")
        # Declared fields leave the class body (serializer metaclass), so this does not shadow Field.source.
        source = serializers.ChoiceField(choices=RecordSource.choices, label="登録元")  # type: ignore[assignment]
        created_by = serializers.CharField(source="author.username", label="登録者")
        updated_by = serializers.CharField(source="last_editor.username", label="最終更新者")
        created_at = serializers.DateTimeField(label="作成日時")
        updated_at = serializers.DateTimeField(label="更新日時")

    @extend_schema(
        operation_id="vaccination_record_retrieve", summary="接種記録の詳細", tags=["records"],
        description="接種記録1件（16項目と登録元・登録者）。",
        responses={200: OutputSerializer, **ERROR_RESPONSES},
    )
    def get(self, request: Request, pk: int) -> Response:
        record = vaccination_record_get(actor=request.user, pk=pk)
        self.record_access(request, [record.resident, record])
        return Response(self.OutputSerializer(record).data)


class ResidentRecordListApi(JsonApi):
    """A resident's vaccination history, newest first."""

    required_permission = VIEW_RECORD

    class Pagination(LimitOffsetPagination):
        default_limit = 100
        max_limit = 500

    pagination_class = Pagination  # also tells the schema generator that the list is paginated

    @extend_schema(
        operation_id="resident_record_list", summary="接種履歴", tags=["records"],
        description="宛名の接種記録を接種日の新しい順に返します。",
        responses={200: VaccinationRecordDetailApi.OutputSerializer(many=True), **ERROR_RESPONSES},
    )
    def get(self, request: Request, pk: int) -> Response:
        resident = resident_get(actor=request.user, pk=pk)
        records = vaccination_record_list(actor=request.user, resident=resident)
        # The history is the resident's: one entry for the resident, whatever the page holds.
        self.record_access(request, [resident])
        paginator = self.Pagination()
        page = paginator.paginate_queryset(records, request, view=self)
        data = VaccinationRecordDetailApi.OutputSerializer(page, many=True).data
        return paginator.get_paginated_response(data)


class VaccinationRecordCreateApi(JsonApi):
    required_permission = ADD_RECORD

    @extend_schema_serializer(component_name="VaccinationRecordCreate", description=RECORD_ITEMS_DESCRIPTION)
    class InputSerializer(RecordItemsSerializer):
        pass

    @extend_schema(
        operation_id="vaccination_record_create", summary="接種記録の登録", tags=["records"],
        description="窓口入力として登録します。同じ接種（接種日・ワクチン・診察区分）が既にあれば 400。",
        request=InputSerializer,
        responses={201: VaccinationRecordDetailApi.OutputSerializer, **INPUT_ERROR_RESPONSES},
    )
    def post(self, request: Request, pk: int) -> Response:
        resident = resident_get(actor=request.user, pk=pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = vaccination_record_create(actor=request.user, resident=resident, **serializer.validated_data)
        data = VaccinationRecordDetailApi.OutputSerializer(record).data
        return Response(data, status=status.HTTP_201_CREATED)


class VaccinationRecordUpdateApi(JsonApi):
    """Correction: only the items sent change; the resident, source and creator never do."""

    required_permission = CHANGE_RECORD

    @extend_schema_serializer(
        component_name="VaccinationRecordUpdate",
        description="訂正する項目だけを送ります。" + RECORD_ITEMS_DESCRIPTION,
    )
    class InputSerializer(RecordItemsSerializer):
        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if not attrs:
                raise serializers.ValidationError("変更する項目を指定してください。", code="empty")
            return attrs

    @extend_schema(
        operation_id="vaccination_record_update", summary="接種記録の訂正", tags=["records"],
        description="送った項目だけを訂正します。宛名・登録元・登録者は変わりません。",
        request=InputSerializer,
        responses={200: VaccinationRecordDetailApi.OutputSerializer, **INPUT_ERROR_RESPONSES},
    )
    def patch(self, request: Request, pk: int) -> Response:
        record = vaccination_record_get(actor=request.user, pk=pk)
        serializer = self.InputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        record = vaccination_record_update(actor=request.user, record=record, data=serializer.validated_data)
        return Response(VaccinationRecordDetailApi.OutputSerializer(record).data)

