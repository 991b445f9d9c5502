"""Staff screens of eligibility, included at ``eligibility/``."""

from django.urls import path

from eligibility.documents.views import CertificateIssueView
from eligibility.views import campaigns, checks, notices

app_name = "eligibility"

urlpatterns = [
    path("", campaigns.CampaignListView.as_view(), name="campaign_list"),
    path("campaigns/new/", campaigns.CampaignCreateView.as_view(), name="campaign_create"),
    path("campaigns/<int:pk>/", campaigns.CampaignDetailView.as_view(), name="campaign_detail"),
    path("campaigns/<int:pk>/edit/", campaigns.CampaignUpdateView.as_view(), name="campaign_update"),
    path("campaigns/<int:pk>/what-if/", campaigns.WhatIfView.as_view(), name="what_if"),
    path("campaigns/<int:pk>/extract/", campaigns.ExtractionStartView.as_view(), name="extraction_start"),
    path("runs/<int:pk>/", campaigns.RunDetailView.as_view(), name="run_detail"),
    path("runs/<int:pk>/progress/", campaigns.RunProgressView.as_view(), name="run_progress"),
    path("checks/new/", checks.CheckCreateView.as_view(), name="check_create"),
    path("checks/<int:pk>/", checks.CheckDetailView.as_view(), name="check_detail"),
    path("decisions/", checks.DecisionListView.as_view(), name="decision_list"),
    path("residents/<int:pk>/", checks.ResidentEligibilityView.as_view(), name="resident"),
    path("residents/<int:pk>/decide/", checks.ResidentDecideView.as_view(), name="resident_decide"),
    path("residents/<int:pk>/priority-groups/", checks.PriorityGroupGrantView.as_view(), name="priority_group_grant"),
    path("priority-groups/<int:pk>/revoke/", checks.PriorityGroupRevokeView.as_view(), name="priority_group_revoke"),
    path("batches/<int:pk>/", notices.BatchDetailView.as_view(), name="batch_detail"),
    path("batches/<int:pk>/issue/", notices.BatchIssueView.as_view(), name="batch_issue"),
    path("batches/<int:pk>/<slug:kind>/<int:chunk>.pdf", notices.BatchPdfView.as_view(), name="batch_pdf"),
    path("batches/<int:pk>/<slug:kind>.csv", notices.BatchCsvView.as_view(), name="batch_csv"),
    path("items/<int:pk>/release/", notices.ItemReleaseView.as_view(), name="item_release"),
    path("tickets/<int:pk>/reissue/", notices.TicketReissueView.as_view(), name="ticket_reissue"),
    path("tickets/<int:pk>/pdf/", notices.TicketPdfView.as_view(), name="ticket_pdf"),
    # Certificate of vaccination (接種済証), issued from the resident page.
    path("residents/<int:pk>/certificate/", CertificateIssueView.as_view(), name="certificate_issue"),
]
