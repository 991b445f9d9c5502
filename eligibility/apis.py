"""Eligibility API: single checks (matching, confirmation, decision) and extraction status. One class per
operation with nested serializers; the same services as the browser screens. Personal data stays out of
URLs (the applicant's details travel in a POST body); every response that shows residents records one
read-access entry per resident."""

from typing import Any

from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from eligibility import permissions, selectors
from eligibility.models import Campaign, EligibilityDecision
from eligibility.services import eligibility_check_confirm, eligibility_check_create
from eligibility.services.checks import MatchResult, eligibility_check_create_exact
from koshigaya_vax.api import ErrorSerializer
from records.apis import FlexibleDateField, JsonApi, StrictInputSerializer, url_name
from records.models import Sex

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


@extend_schema_serializer(component_name="EligibilityDecision")
class DecisionSerializer(serializers.Serializer):
    @extend_schema_serializer(component_name="EligibilityCriterion")
    class CriterionSerializer(serializers.Serializer):
        code = serializers.CharField()
        passed = serializers.BooleanField()
        reason = serializers.CharField()

    id = serializers.IntegerField()
    resident_id = serializers.IntegerField()
    campaign_id = serializers.IntegerField()
    rule_version = serializers.IntegerField(source="rule.version")
    as_of = serializers.DateField()
    eligible = serializers.BooleanField(label="対象")
    criteria = CriterionSerializer(many=True)
    decided_at = serializers.DateTimeField(source="created_at")


@extend_schema_serializer(component_name="EligibilityCheckResult")
class CheckResultSerializer(serializers.Serializer):
    @extend_schema_serializer(component_name="EligibilityCandidate")
    class CandidateSerializer(serializers.Serializer):
        @extend_schema_serializer(component_name="EligibilityItemAgreement")
        class AgreementSerializer(serializers.Serializer):
            item = serializers.CharField()
            agrees = serializers.BooleanField(allow_null=True)
            note = serializers.CharField()

        resident_id = serializers.IntegerField(source="resident.pk")
        address_number = serializers.CharField(source="resident.address_number")
        name = serializers.CharField(source="resident.name")
        name_kana = serializers.CharField(source="resident.name_kana")
        birth_date = serializers.DateField(source="resident.birth_date")
        method = serializers.CharField(help_text="my_number / address_number / basic_items")
        score = serializers.IntegerField()
        agreements = AgreementSerializer(many=True)

    check_id = serializers.IntegerField()
    status = serializers.CharField()
    warnings = serializers.ListField(child=serializers.CharField())
    candidates = CandidateSerializer(many=True)
    decision = DecisionSerializer(allow_null=True)


def _result(check: Any, result: MatchResult | None, decision: EligibilityDecision | None) -> dict[str, Any]:
    return {"check_id": check.pk, "status": check.status, "warnings": result.warnings if result else [],
            "candidates": result.candidates if result else [], "decision": decision}


class EligibilityCheckCreateApi(JsonApi):
    """Match an applicant against resident data. Candidates are returned for staff to confirm
    (``.../confirm/``); with ``confirm_exact`` the decision is made at once only for a single exact
    個人番号/宛名番号 match whose kana, birth date and sex agree — never for a fuzzy candidate."""

    required_permission = permissions.CHECK

    @extend_schema_serializer(component_name="EligibilityCheckInput")
    class InputSerializer(StrictInputSerializer):
        campaign = serializers.PrimaryKeyRelatedField(queryset=Campaign.objects.all(), label="接種事業")
        as_of = FlexibleDateField(required=False, label="判定日", help_text="省略時は事業の基準日。")
        name = serializers.CharField(max_length=100, required=False, allow_blank=True, label="氏名")
        name_kana = serializers.CharField(max_length=100, required=False, allow_blank=True, label="氏名の振り仮名")
        birth_date = FlexibleDateField(label="生年月日")
        sex = serializers.ChoiceField(choices=Sex.choices, required=False, allow_null=True, label="性別")
        address = serializers.CharField(max_length=200, required=False, allow_blank=True, label="住所")
        address_number = serializers.RegexField(r"^\d{1,15}$", required=False, allow_blank=True, label="宛名番号")
        my_number = serializers.CharField(max_length=20, required=False, allow_blank=True, write_only=True,
                                          label="個人番号", help_text="照合にのみ使い、保存しません。")
        confirm_exact = serializers.BooleanField(required=False, default=False)

    @extend_schema(operation_id="eligibility_check_create", summary="対象者確認（突合）", tags=["eligibility"],
                   request=InputSerializer, responses={201: CheckResultSerializer, **ERRORS})
    @sensitive_variables("data")
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        decision = None
        if data.pop("confirm_exact"):
            # Matching, the decision, the events and the read-access entries in one transaction and one
            # chained audit write.
            check, result, decision = eligibility_check_create_exact(
                actor=request.user, access_view=url_name(request), access_permission=self.required_permission,
                **data)
        else:
            check, result = eligibility_check_create(actor=request.user, **data)
            self.record_access(request, [c.resident for c in result.candidates])
        return Response(CheckResultSerializer(_result(check, result, decision)).data, status=status.HTTP_201_CREATED)


class EligibilityCheckConfirmApi(JsonApi):
    """Staff confirm one candidate of a check as the applicant; the decision is made and returned."""

    required_permission = permissions.CHECK

    @extend_schema_serializer(component_name="EligibilityCheckConfirmInput")
    class InputSerializer(StrictInputSerializer):
        resident_id = serializers.IntegerField()

    @extend_schema(operation_id="eligibility_check_confirm", summary="本人確認と判定", tags=["eligibility"],
                   request=InputSerializer, responses={201: DecisionSerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        check = selectors.check_get(actor=request.user, pk=pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        decision = eligibility_check_confirm(actor=request.user, check=check,
                                             resident_id=serializer.validated_data["resident_id"])
        self.record_access(request, [decision.resident])
        return Response(DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)


class ExtractionRunDetailApi(JsonApi):
    required_permission = permissions.VIEW_EXTRACTION

    @extend_schema_serializer(component_name="ExtractionRun")
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        campaign_id = serializers.IntegerField()
        rule_version = serializers.IntegerField(source="rule.version")
        status = serializers.CharField()
        residents_total = serializers.IntegerField()
        residents_processed = serializers.IntegerField()
        targets = serializers.IntegerField()
        excluded_suspended = serializers.IntegerField()
        held_protected = serializers.IntegerField()
        counts_by_age_band = serializers.DictField(child=serializers.IntegerField())
        counts_by_priority_group = serializers.DictField(child=serializers.IntegerField())
        batch_id = serializers.SerializerMethodField()
        started_at = serializers.DateTimeField(allow_null=True)
        finished_at = serializers.DateTimeField(allow_null=True)

        def get_batch_id(self, run: Any) -> int | None:
            batch = getattr(run, "batch", None) if run.status == "done" else None
            return batch.pk if batch is not None else None

    @extend_schema(operation_id="extraction_run_retrieve", summary="対象者抽出の状況", tags=["eligibility"],
                   responses={200: OutputSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        return Response(self.OutputSerializer(selectors.run_get(actor=request.user, pk=pk)).data)
