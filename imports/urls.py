"""Clinic CSV imports, included at ``imports/``: the upload form, the list and each import's page, its
progress (polled by the page) and its row-error CSV; the administrators' clinic API token pages."""

from django.urls import path

from imports import views

app_name = "imports"

urlpatterns = [
    path("", views.ImportListView.as_view(), name="list"),
    path("upload/", views.ImportUploadView.as_view(), name="upload"),
    path("<int:pk>/", views.ImportDetailView.as_view(), name="detail"),
    path("<int:pk>/progress/", views.ImportProgressView.as_view(), name="progress"),
    path("<int:pk>/errors.csv", views.ImportErrorCsvView.as_view(), name="error_csv"),
    path("tokens/", views.TokenListView.as_view(), name="token_list"),
    path("tokens/issue/", views.TokenIssueView.as_view(), name="token_issue"),
    path("tokens/<int:pk>/revoke/", views.TokenRevokeView.as_view(), name="token_revoke"),
]
