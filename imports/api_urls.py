"""Import API routes, included by koshigaya_vax.api_urls at ``api/v1/imports/`` (names in the ``api``
namespace)."""

from django.urls import path

from imports.apis import ClinicImportCreateApi, ClinicImportDetailApi, ClinicImportErrorListApi, ClinicImportListApi
from koshigaya_vax.api import method_route

urlpatterns = [
    path("", method_route(get=ClinicImportListApi, post=ClinicImportCreateApi), name="import_list"),
    path("<int:pk>/", ClinicImportDetailApi.as_view(), name="import_detail"),
    path("<int:pk>/errors/", ClinicImportErrorListApi.as_view(), name="import_errors"),
]
