from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", views.SignOutView.as_view(), name="logout"),
    path("accounts/otp/", views.OtpVerifyView.as_view(), name="otp_verify"),
    path("accounts/otp/setup/", views.OtpSetupView.as_view(), name="otp_setup"),
    path("accounts/otp/backup-codes/", views.BackupCodesView.as_view(), name="backup_codes"),
]
