"""Auditor desk, included at ``audit/``."""

from django.urls import path

from audit import views

app_name = "audit"
urlpatterns = [
    path("", views.AuditEntryListView.as_view(), name="entry_list"),
    path("entries/<int:pk>/", views.AuditEntryDetailView.as_view(), name="entry_detail"),
    path("entries/export.csv", views.AuditEntryExportCsvView.as_view(), name="entry_export_csv"),
    path("entries/export.pdf", views.AuditEntryExportPdfView.as_view(), name="entry_export_pdf"),
    path("residents/<int:pk>/", views.ResidentHistoryView.as_view(), name="resident_history"),
    path("users/<int:pk>/", views.UserHistoryView.as_view(), name="user_history"),
    path("self-inspection/", views.SelfInspectionView.as_view(), name="self_inspection"),
    path("self-inspection/report.pdf", views.SelfInspectionPdfView.as_view(), name="self_inspection_pdf"),
    path("chain/verify/", views.ChainVerifyView.as_view(), name="chain_verify"),
]
