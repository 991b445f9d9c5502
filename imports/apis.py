"""Clinic CSV import API. One class per operation: each parses its input with a nested InputSerializer,
calls one selector or service (the same ones the browser pages use) and renders a nested OutputSerializer.
Errors take the shape of koshigaya_vax.api.exception_handler.

Who calls it:
- a clinic's system with its clinic API token (``Authorization: ClinicToken <token>``): the token's clinic
  is the import's clinic, and the token sees only that clinic's imports;
- staff (session with both factors, or their DRF token), naming the clinic by its code;
- clinic users through their session, for their own clinic only.
"""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from imports.forms import oversize_refusal
from imports.models import ClinicApiToken, ImportSource, ImportStatus
from imports.permissions import UPLOAD_IMPORT, VIEW_IMPORT, VIEW_ROW_ERRORS, is_clinic_bound
from imports.selectors import clinic_import_get, clinic_import_list, import_row_error_list
from imports.services import ImportRefused, clinic_import_receive
from imports.tokens import TOKEN_KEYWORD, ClinicTokenAuthentication
from koshigaya_vax.api import ErrorSerializer
from records.apis import YearMonthField
from records.models import Clinic

ERROR_RESPONSES = {401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}
# Refusals of a whole file that deserve their own status; anything else a refused file gets is a 400.
REFUSAL_STATUS = {"duplicate_file": status.HTTP_409_CONFLICT, "too_large": status.HTTP_413_REQUEST_ENTITY_TOO_LARGE}


class ClinicTokenScheme(OpenApiAuthenticationExtension):
    """Documents ``Authorization: ClinicToken <token>`` in the OpenAPI schema."""

    target_class = "imports.tokens.ClinicTokenAuthentication"
    name = "clinicTokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey", "in": "header", "name": "Authorization",
            "description": f"医療機関APIトークン。`Authorization: {TOKEN_KEYWORD} <トークン>` の形で送ります。",
        }


class ImportRefusedError(exceptions.APIException):
    """A refused file, in the shared error shape with the refusal's own code (``duplicate_file``,
    ``encoding``, ``too_large`` ...) and its Japanese message."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    default_code = "import_refused"

    def __init__(self, refusal: ImportRefused) -> None:
        code = str(refusal.code or self.default_code)
        super().__init__(detail=" ".join(refusal.messages), code=code)
        self.default_code = code  # the exception handler reports this as the error's code
        self.status_code = REFUSAL_STATUS.get(code, status.HTTP_400_BAD_REQUEST)


class ImportApi(APIView):
    """Base of the import API: a clinic token is tried first, then the session and the staff token."""

    authentication_classes = [ClinicTokenAuthentication, SessionAuthentication, TokenAuthentication]
    parser_classes = [JSONParser]


@extend_schema_serializer(component_name="ClinicImport")
class ClinicImportOutputSerializer(serializers.Serializer):
    @extend_schema_serializer(component_name="ImportClinic")
    class ClinicSerializer(serializers.Serializer):
        code = serializers.CharField(label="医療機関コード")
        name = serializers.CharField(label="医療機関名")

    id = serializers.IntegerField()
    clinic = ClinicSerializer(label="医療機関")
    billing_month = YearMonthField(label="請求年月")
    # Declared fields leave the class body (serializer metaclass), so this does not shadow Field.source.
    source = serializers.ChoiceField(choices=ImportSource.choices, label="受付経路")  # type: ignore[assignment]
    original_filename = serializers.CharField(label="ファイル名")
    sha256 = serializers.CharField(label="SHA-256")
    size_bytes = serializers.IntegerField(label="サイズ（バイト）")
    encoding = serializers.CharField(label="文字コード")
    status = serializers.ChoiceField(choices=ImportStatus.choices, label="状態",
                                     help_text="received → validating → committed / failed")
    rows_total = serializers.IntegerField(label="行数")
    rows_validated = serializers.IntegerField(label="検証済み行数")
    rows_committed = serializers.IntegerField(label="登録行数")
    rows_duplicate = serializers.IntegerField(label="重複行数")
    rows_error = serializers.IntegerField(label="エラー行数")
    failure_message = serializers.CharField(label="失敗の理由")
    uploaded_by = serializers.CharField(source="uploaded_by.username", allow_null=True, default=None,
                                        label="アップロード者")
    api_token = serializers.CharField(source="api_token.prefix", allow_null=True, default=None,
                                      label="APIトークンの識別子")
    received_at = serializers.DateTimeField(source="created_at", label="受付日時")
    started_at = serializers.DateTimeField(allow_null=True, label="処理開始日時")
    finished_at = serializers.DateTimeField(allow_null=True, label="処理終了日時")


class ClinicImportCreateApi(ImportApi):
    """Send a month's CSV. The file is stored unchanged (with its SHA-256) before anything else and then
    processed in the background: poll the import until its status is committed or failed."""

    required_permission = UPLOAD_IMPORT
    parser_classes = [MultiPartParser]

    @extend_schema_serializer(component_name="ClinicImportCreate")
    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(label="CSVファイル", allow_empty_file=True,
                                     help_text="様式どおりのCSV（docs/clinic-csv.md）。")
        billing_month = YearMonthField(label="請求年月")
        clinic = serializers.SlugRelatedField(
            slug_field="code", queryset=Clinic.objects.all(), required=False, label="医療機関コード",
            help_text="職員が代理で送るときに指定（必須）。医療機関のトークンでは省略するか、そのトークンの医療機関。",
            error_messages={"does_not_exist": "この医療機関コードは登録されていません。",
                            "invalid": "医療機関コードが不正です。"},
        )

    @extend_schema(
        operation_id="clinic_import_create", summary="接種実績CSVの送信", tags=["imports"],
        description=(
            "multipart/form-data で file と billing_month（請求年月）を送ります。受け付けると 201 と取込の状態を返し、"
            "検証と登録はその後に行われます。同じファイルは 409（duplicate_file）、大きすぎるファイルは 413、"
            "文字コードなどで受け付けられないファイルは 400 で、error.code が理由を示します。"
        ),
        request={"multipart/form-data": InputSerializer},
        responses={201: ClinicImportOutputSerializer, 400: ErrorSerializer, 409: ErrorSerializer,
                   413: ErrorSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        token = request.auth if isinstance(request.auth, ClinicApiToken) else None
        clinic = self._clinic(request.user, data.get("clinic"))
        upload = data["file"]
        refusal = oversize_refusal(upload.size)
        if refusal is not None:
            raise ImportRefusedError(refusal)
        try:
            clinic_import = clinic_import_receive(
                # With a token the actor is its ClinicTokenUser: no person, so the import names the token.
                actor=request.user,
                clinic=clinic, billing_month=data["billing_month"], filename=upload.name,
                data=upload.read(), source=ImportSource.API, api_token=token,
            )
        except ImportRefused as exc:
            raise ImportRefusedError(exc) from None
        return Response(ClinicImportOutputSerializer(clinic_import).data, status=status.HTTP_201_CREATED)

    @staticmethod
    def _clinic(user: Any, requested: Clinic | None) -> Clinic:
        if is_clinic_bound(user):
            own = getattr(user, "clinic", None)
            if own is None or (requested is not None and requested.pk != own.pk):
                raise exceptions.PermissionDenied("自院以外の医療機関の取込は送信できません。")
            return own
        if requested is None:
            raise exceptions.ValidationError({"clinic": ["医療機関コードを指定してください。"]})
        return requested


class ClinicImportListApi(ImportApi):
    """Imports the caller may see, newest first (a clinic's token or user: its own clinic's only)."""

    required_permission = VIEW_IMPORT

    class Pagination(LimitOffsetPagination):
        default_limit = 50
        max_limit = 200

    pagination_class = Pagination

    @extend_schema(
        operation_id="clinic_import_list", summary="取込の一覧", tags=["imports"],
        responses={200: ClinicImportOutputSerializer(many=True), **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        paginator = self.Pagination()
        page = paginator.paginate_queryset(clinic_import_list(actor=request.user), request, view=self)
        return paginator.get_paginated_response(ClinicImportOutputSerializer(page, many=True).data)


class ClinicImportDetailApi(ImportApi):
    required_permission = VIEW_IMPORT

    @extend_schema(
        operation_id="clinic_import_retrieve", summary="取込の状態と件数", tags=["imports"],
        description="status が received / validating の間は処理中です。rows_validated / rows_total が進み具合です。",
        responses={200: ClinicImportOutputSerializer, **ERROR_RESPONSES},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(ClinicImportOutputSerializer(clinic_import_get(actor=request.user, pk=pk)).data)


class ClinicImportErrorListApi(ImportApi):
    """The rows the import did not take: row number (the header is row 1), column, code and a Japanese
    message. Never a cell's value."""

    required_permission = VIEW_ROW_ERRORS

    class Pagination(LimitOffsetPagination):
        default_limit = 100
        max_limit = 1000

    pagination_class = Pagination

    @extend_schema_serializer(component_name="ImportRowError")
    class OutputSerializer(serializers.Serializer):
        row_number = serializers.IntegerField(label="行番号", help_text="見出し行が1、最初のデータ行が2。")
        column = serializers.CharField(label="項目", help_text="見出しの項目名。行全体のエラーは空。")
        code = serializers.CharField(label="エラーコード")
        message = serializers.CharField(label="内容")

    @extend_schema(
        operation_id="clinic_import_error_list", summary="取込のエラー行", tags=["imports"],
        responses={200: OutputSerializer(many=True), **ERROR_RESPONSES},
    )
    def get(self, request: Request, pk: int) -> Response:
        clinic_import = clinic_import_get(actor=request.user, pk=pk)
        errors = import_row_error_list(actor=request.user, clinic_import=clinic_import)
        paginator = self.Pagination()
        page = paginator.paginate_queryset(errors, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)
