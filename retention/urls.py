"""Retention and purges, included at ``retention/``."""

from django.urls import path

from retention import views

app_name = "retention"

urlpatterns = [
    path("", views.ReportListView.as_view(), name="report_list"),
    path("reports/new/", views.ReportCreateView.as_view(), name="report_create"),
    path("reports/<int:pk>/", views.ReportDetailView.as_view(), name="report_detail"),
    path("reports/<int:pk>/progress/", views.ReportProgressView.as_view(), name="report_progress"),
    path("reports/<int:pk>/approve/", views.ReportApproveView.as_view(), name="report_approve"),
    path("reports/<int:pk>/reject/", views.ReportRejectView.as_view(), name="report_reject"),
    path("reports/<int:pk>/stop/", views.ReportStopView.as_view(), name="report_stop"),
    path("reports/<int:pk>/resume/", views.ReportResumeView.as_view(), name="report_resume"),
    path("reports/<int:pk>/certificate.csv", views.CertificateCsvView.as_view(), name="certificate_csv"),
    path("reports/<int:pk>/certificate.pdf", views.CertificatePdfView.as_view(), name="certificate_pdf"),
    path("policies/", views.PolicyListView.as_view(), name="policy_list"),
    path("policies/<str:key>/", views.PolicyEditView.as_view(), name="policy_edit"),
    path("holds/", views.HoldListView.as_view(), name="hold_list"),
    path("holds/new/", views.HoldCreateView.as_view(), name="hold_create"),
    path("holds/<int:pk>/release/", views.HoldReleaseView.as_view(), name="hold_release"),
]
