"""Clinic CSV imports, included at ``imports/``: the upload form, the list and each import's page, its
progress (polled by the page) and its row-error CSV; the same for the resident change feed under ``feed/``;
the administrators' clinic API token pages."""

from django.urls import path

from imports import views
from imports.feed import views as feed_views

app_name = "imports"

urlpatterns = [
    path("", views.ImportListView.as_view(), name="list"),
    path("upload/", views.ImportUploadView.as_view(), name="upload"),
    path("<int:pk>/", views.ImportDetailView.as_view(), name="detail"),
    path("<int:pk>/progress/", views.ImportProgressView.as_view(), name="progress"),
    path("<int:pk>/errors.csv", views.ImportErrorCsvView.as_view(), name="error_csv"),
    # The resident change feed (異動データ, issue #7).
    path("feed/", feed_views.FeedListView.as_view(), name="feed_list"),
    path("feed/upload/", feed_views.FeedUploadView.as_view(), name="feed_upload"),
    path("feed/<int:pk>/", feed_views.FeedDetailView.as_view(), name="feed_detail"),
    path("feed/<int:pk>/progress/", feed_views.FeedProgressView.as_view(), name="feed_progress"),
    path("feed/<int:pk>/errors.csv", feed_views.FeedErrorCsvView.as_view(), name="feed_error_csv"),
    path("tokens/", views.TokenListView.as_view(), name="token_list"),
    path("tokens/issue/", views.TokenIssueView.as_view(), name="token_issue"),
    path("tokens/<int:pk>/revoke/", views.TokenRevokeView.as_view(), name="token_revoke"),
]
