"""Eligibility API routes, included at ``api/v1/eligibility/`` (names in the ``api`` namespace)."""

from django.urls import path

from eligibility.apis import EligibilityCheckConfirmApi, EligibilityCheckCreateApi, ExtractionRunDetailApi

urlpatterns = [
    path("checks/", EligibilityCheckCreateApi.as_view(), name="eligibility_checks"),
    path("checks/<int:pk>/confirm/", EligibilityCheckConfirmApi.as_view(), name="eligibility_check_confirm"),
    path("runs/<int:pk>/", ExtractionRunDetailApi.as_view(), name="extraction_run"),
]
