"""Campaigns and their rule versions, the what-if preview, extraction runs and their progress."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from eligibility import permissions, selectors, services
from eligibility.forms import CampaignForm, RuleFields
from eligibility.models import ExtractionRun, RunStatus
from eligibility.views.base import StaffView, form_errors, get_or_404

POLL_INTERVAL_MS = 2000


@method_decorator(never_cache, name="dispatch")
class CampaignListView(StaffView):
    required_permission = permissions.VIEW_CAMPAIGN

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "eligibility/campaign_list.html", {
            "campaigns": selectors.campaign_list(actor=request.user).prefetch_related("rules"),
            "can_add": permissions.can(request.user, permissions.ADD_CAMPAIGN),
            "can_check": permissions.can(request.user, permissions.CHECK),
        })


@method_decorator(never_cache, name="dispatch")
class CampaignCreateView(StaffView):
    required_permission = permissions.ADD_CAMPAIGN

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "eligibility/campaign_form.html", {"form": CampaignForm(), "campaign": None})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = CampaignForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                campaign = services.campaign_create(
                    actor=request.user, name=d["name"], period_start=d["period_start"], period_end=d["period_end"],
                    ticket_type=d["ticket_type"], rule=form.rule_data(),
                )
            except ValidationError as exc:
                form_errors(form, exc)
            else:
                messages.success(request, _("接種事業を作成しました。"))
                return redirect("eligibility:campaign_detail", pk=campaign.pk)
        return render(request, "eligibility/campaign_form.html", {"form": form, "campaign": None})


@method_decorator(never_cache, name="dispatch")
class CampaignDetailView(StaffView):
    required_permission = permissions.VIEW_CAMPAIGN

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = get_or_404(selectors.campaign_get, request, pk)
        return render(request, "eligibility/campaign_detail.html", {
            "campaign": campaign,
            "rules": campaign.rules.prefetch_related("vaccines", "priority_groups").order_by("-version"),
            "runs": campaign.runs.select_related("rule", "batch").order_by("-created_at")[:20],
            "can_change": permissions.can(request.user, permissions.CHANGE_CAMPAIGN),
            "can_extract": permissions.can(request.user, permissions.RUN_EXTRACTION),
            "decision_count": campaign.decisions.count(),
        })


@method_decorator(never_cache, name="dispatch")
class CampaignUpdateView(StaffView):
    """Editing: the campaign's name and period change in place; a changed rule becomes a new version
    when the current one has already decided anything (the page says so before saving)."""

    required_permission = permissions.CHANGE_CAMPAIGN

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = get_or_404(selectors.campaign_get, request, pk)
        return self._render(request, CampaignForm(initial=CampaignForm.initial_for(campaign)), campaign)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = get_or_404(selectors.campaign_get, request, pk)
        form = CampaignForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            before = campaign.current_rule
            try:
                rule = services.campaign_update(
                    actor=request.user, campaign=campaign, name=d["name"], period_start=d["period_start"],
                    period_end=d["period_end"], ticket_type=d["ticket_type"], rule=form.rule_data(),
                )
            except ValidationError as exc:
                form_errors(form, exc)
            else:
                if rule.pk != before.pk:
                    messages.success(request, _("判定済みの規則は変更せず、新しい版（第%(v)s版）を作成しました。")
                                     % {"v": rule.version})
                else:
                    messages.success(request, _("接種事業を更新しました。"))
                return redirect("eligibility:campaign_detail", pk=campaign.pk)
        return self._render(request, form, campaign)

    def _render(self, request: HttpRequest, form: CampaignForm, campaign: Any) -> HttpResponse:
        from eligibility.services.campaigns import rule_in_use

        return render(request, "eligibility/campaign_form.html", {
            "form": form, "campaign": campaign, "rule_in_use": rule_in_use(campaign.current_rule),
        })


@method_decorator(never_cache, name="dispatch")
class WhatIfView(StaffView):
    """Counts under the current rule and a draft rule, and how many residents would change. Nothing is
    stored except the audit event; the draft starts as a copy of the current rule."""

    required_permission = permissions.RUN_EXTRACTION

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = get_or_404(selectors.campaign_get, request, pk)
        form = RuleFields(initial=RuleFields.initial_from(campaign.current_rule))
        return render(request, "eligibility/what_if.html", {"campaign": campaign, "form": form})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = get_or_404(selectors.campaign_get, request, pk)
        form = RuleFields(request.POST)
        result = None
        if form.is_valid():
            result = services.what_if_preview(actor=request.user, campaign=campaign, draft=form.draft_rule(),
                                              draft_reference_date=form.cleaned_data["reference_date"])
        rows = []
        if result is not None:
            rows = [(band, result.current_by_age_band[band], result.draft_by_age_band[band],
                     result.newly_by_age_band[band], result.dropped_by_age_band[band])
                    for band in result.current_by_age_band]
        return render(request, "eligibility/what_if.html",
                      {"campaign": campaign, "form": form, "result": result, "rows": rows})


@method_decorator(never_cache, name="dispatch")
class ExtractionStartView(StaffView):
    required_permission = permissions.RUN_EXTRACTION
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = get_or_404(selectors.campaign_get, request, pk)
        try:
            run = services.extraction_run_start(actor=request.user, campaign=campaign)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("eligibility:campaign_detail", pk=campaign.pk)
        messages.success(request, _("対象者抽出を開始しました。進み具合はこの画面で確認できます。"))
        return redirect("eligibility:run_detail", pk=run.pk)


def run_facts(run: ExtractionRun) -> dict[str, Any]:
    total = run.residents_total
    return {
        "status": run.status, "status_label": str(run.get_status_display()),
        "in_progress": run.status in (RunStatus.QUEUED, RunStatus.RUNNING),
        "residents_total": total, "residents_processed": run.residents_processed,
        "percent": int(run.residents_processed * 100 / total) if total else 0,
        "targets": run.targets,
    }


@method_decorator(never_cache, name="dispatch")
class RunDetailView(StaffView):
    required_permission = permissions.VIEW_EXTRACTION

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = get_or_404(selectors.run_get, request, pk)
        batch = getattr(run, "batch", None) if run.status == RunStatus.DONE else None
        return render(request, "eligibility/run_detail.html", {
            "run": run, "progress": run_facts(run), "batch": batch, "poll_interval_ms": POLL_INTERVAL_MS,
            "age_bands": list(run.counts_by_age_band.items()),
            "groups": list(run.counts_by_priority_group.items()),
        })


@method_decorator(never_cache, name="dispatch")
class RunProgressView(StaffView):
    required_permission = permissions.VIEW_EXTRACTION

    def get(self, request: HttpRequest, pk: int) -> JsonResponse:
        return JsonResponse(run_facts(get_or_404(selectors.run_get, request, pk)))
