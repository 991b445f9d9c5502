"""The API, mounted at ``api/``: versioned endpoints under ``v1/``, plus the schema and its Swagger UI."""

from django.urls import include, path

from koshigaya_vax.api import DocsApi, SchemaApi, method_route
from records.apis import (
    ResidentDetailApi,
    ResidentMyNumberRevealApi,
    ResidentRecordListApi,
    ResidentSearchApi,
    VaccinationRecordCreateApi,
    VaccinationRecordDetailApi,
    VaccinationRecordUpdateApi,
)

app_name = "api"

urlpatterns = [
    path("schema/", SchemaApi.as_view(), name="schema"),
    path("docs/", DocsApi.as_view(), name="docs"),
    path("v1/residents/search/", ResidentSearchApi.as_view(), name="resident_search"),
    path("v1/residents/<int:pk>/", ResidentDetailApi.as_view(), name="resident_detail"),
    path("v1/residents/<int:pk>/my-number/", ResidentMyNumberRevealApi.as_view(), name="resident_my_number"),
    path(
        "v1/residents/<int:pk>/records/",
        method_route(get=ResidentRecordListApi, post=VaccinationRecordCreateApi),
        name="resident_records",
    ),
    path(
        "v1/records/<int:pk>/",
        method_route(get=VaccinationRecordDetailApi, patch=VaccinationRecordUpdateApi),
        name="record_detail",
    ),
    path("v1/imports/", include("imports.api_urls")),
    path("v1/eligibility/", include("eligibility.api_urls")),
    path("v1/linkage/", include("linkage.api_urls")),
]
