"""Single checks (matching, staff confirmation, decision), decisions, and one resident's eligibility."""

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from eligibility import permissions, selectors, services
from eligibility.forms import CheckForm, ConfirmForm, DecideForm, PriorityGroupForm
from eligibility.models import CheckStatus, EligibilityCheck, PriorityGroupMembership
from eligibility.services.checks import METHOD_LABELS
from eligibility.views.base import StaffView, form_errors, get_or_404
from records.models import Resident
from records.selectors import resident_get

DECISION_PAGE_SIZE = 50


@method_decorator(never_cache, name="dispatch")
@method_decorator(sensitive_post_parameters("my_number"), name="dispatch")
class CheckCreateView(StaffView):
    """The applicant's details from the application form. The My Number is used for the exact match
    through its blind index and never stored, shown or put in a URL."""

    required_permission = permissions.CHECK

    def get(self, request: HttpRequest) -> HttpResponse:
        initial = {}
        if request.GET.get("campaign", "").isdigit():
            initial["campaign"] = int(request.GET["campaign"])
        return render(request, "eligibility/check_form.html", {"form": CheckForm(initial=initial)})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = CheckForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                check, _result = services.eligibility_check_create(
                    actor=request.user, campaign=d["campaign"], as_of=d.get("as_of"), name=d["name"],
                    name_kana=d["name_kana"], birth_date=d["birth_date"], sex=d.get("sex"), address=d["address"],
                    address_number=d["address_number"], my_number=d["my_number"],
                )
            except ValidationError as exc:
                form_errors(form, exc)
            else:
                return redirect("eligibility:check_detail", pk=check.pk)
        return render(request, "eligibility/check_form.html", {"form": form})


@method_decorator(never_cache, name="dispatch")
class CheckDetailView(StaffView):
    """Candidates with each item's agreement; staff confirm one, and only then is the decision made."""

    required_permission = permissions.CHECK

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        check = get_or_404(selectors.check_get, request, pk)
        return self._render(request, check)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        check = get_or_404(selectors.check_get, request, pk)
        form = ConfirmForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("候補を選んでください。"))
            return self._render(request, check)
        try:
            services.eligibility_check_confirm(actor=request.user, check=check,
                                               resident_id=form.cleaned_data["resident_id"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return self._render(request, check)
        messages.success(request, _("本人を確認し、判定しました。"))
        return redirect("eligibility:check_detail", pk=check.pk)

    def _render(self, request: HttpRequest, check: EligibilityCheck) -> HttpResponse:
        result = None
        shown: list[Resident] = []
        if check.status == CheckStatus.PENDING:
            result = services.eligibility_check_match(check=check)
            shown = [c.resident for c in result.candidates]
        elif check.resident is not None:
            shown = [check.resident]
        self.record_access(shown)
        decision = check.decisions.select_related("rule", "decided_by").first()
        return render(request, "eligibility/check_detail.html", {
            "check": check, "result": result, "decision": decision,
            "method_label": METHOD_LABELS.get(check.match_method, ""),
            "sex_label": dict(Resident._meta.get_field("sex").flatchoices).get(check.sex, "—"),
        })


@method_decorator(never_cache, name="dispatch")
class DecisionListView(StaffView):
    """Every stored decision, newest first (staff and auditors)."""

    required_permission = permissions.VIEW_DECISION

    def get(self, request: HttpRequest) -> HttpResponse:
        page = Paginator(selectors.decision_list(actor=request.user), DECISION_PAGE_SIZE).get_page(
            request.GET.get("page"))
        decisions = list(page.object_list)
        self.record_access([d.resident for d in decisions])
        return render(request, "eligibility/decision_list.html", {"page": page, "decisions": decisions})


def _resident_or_404(request: HttpRequest, pk: int) -> Resident:
    try:
        return resident_get(actor=request.user, pk=pk)
    except ObjectDoesNotExist:
        raise Http404 from None


@method_decorator(never_cache, name="dispatch")
class ResidentEligibilityView(StaffView):
    """One resident: decisions with their history, priority groups, tickets; re-evaluate, give a group."""

    required_permission = permissions.DECIDE

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        resident = _resident_or_404(request, pk)
        return self._render(request, resident, DecideForm(), PriorityGroupForm())

    def _render(self, request: HttpRequest, resident: Resident, decide_form: DecideForm,
                group_form: PriorityGroupForm) -> HttpResponse:
        self.record_access([resident])
        return render(request, "eligibility/resident.html", {
            "resident": resident,
            "decisions": selectors.decision_list(actor=request.user, resident=resident),
            "memberships": selectors.memberships_of(actor=request.user, resident=resident),
            "tickets": selectors.tickets_of(actor=request.user, resident=resident),
            "decide_form": decide_form, "group_form": group_form,
            "can_reissue": permissions.can(request.user, permissions.REISSUE_TICKET),
            "can_grant": permissions.can(request.user, permissions.GRANT_PRIORITY_GROUP),
        })


@method_decorator(never_cache, name="dispatch")
class ResidentDecideView(ResidentEligibilityView):
    """再判定: a new decision with the campaign's current rule on today's facts; earlier ones stay."""

    required_permission = permissions.DECIDE
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        resident = _resident_or_404(request, pk)
        form = DecideForm(request.POST)
        if form.is_valid():
            try:
                services.eligibility_decide(actor=request.user, resident=resident,
                                            campaign=form.cleaned_data["campaign"],
                                            as_of=form.cleaned_data.get("as_of"))
            except ValidationError as exc:
                form_errors(form, exc)
            else:
                messages.success(request, _("判定しました（これまでの判定は履歴として残ります）。"))
                return redirect("eligibility:resident", pk=resident.pk)
        return self._render(request, resident, form, PriorityGroupForm())


@method_decorator(never_cache, name="dispatch")
class PriorityGroupGrantView(ResidentEligibilityView):
    required_permission = permissions.GRANT_PRIORITY_GROUP
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        resident = _resident_or_404(request, pk)
        form = PriorityGroupForm(request.POST)
        if form.is_valid():
            try:
                services.priority_group_grant(actor=request.user, resident=resident, group=form.cleaned_data["group"],
                                              application_reference=form.cleaned_data["application_reference"])
            except ValidationError as exc:
                form_errors(form, exc)
            else:
                messages.success(request, _("優先接種グループを登録しました。"))
                return redirect("eligibility:resident", pk=resident.pk)
        return self._render(request, resident, DecideForm(), form)


@method_decorator(never_cache, name="dispatch")
class PriorityGroupRevokeView(StaffView):
    required_permission = permissions.GRANT_PRIORITY_GROUP
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            membership = PriorityGroupMembership.objects.select_related("resident", "group").get(pk=pk)
        except PriorityGroupMembership.DoesNotExist:
            raise Http404 from None
        try:
            services.priority_group_revoke(actor=request.user, membership=membership)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("優先接種グループの登録を取り消しました。"))
        return redirect("eligibility:resident", pk=membership.resident_id)
