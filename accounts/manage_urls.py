"""Administrator desk, included at ``manage/``."""

from django.urls import path

from accounts import manage_views as views

app_name = "manage"
urlpatterns = [
    path("", views.UserListView.as_view(), name="user_list"),
    path("users/new/", views.UserCreateView.as_view(), name="user_create"),
    path("users/<int:pk>/", views.UserDetailView.as_view(), name="user_detail"),
    path("users/<int:pk>/deactivate/", views.UserDeactivateView.as_view(), name="user_deactivate"),
    path("users/<int:pk>/reactivate/", views.UserReactivateView.as_view(), name="user_reactivate"),
    path("users/<int:pk>/otp-reset/", views.OtpResetView.as_view(), name="otp_reset"),
    path("users/<int:pk>/roles/grant/", views.RoleGrantView.as_view(), name="role_grant"),
    path("users/<int:pk>/roles/revoke/", views.RoleRevokeView.as_view(), name="role_revoke"),
    path("access-review/", views.AccessReviewView.as_view(), name="access_review"),
    path("export/", views.BulkExportView.as_view(), name="export"),
]
