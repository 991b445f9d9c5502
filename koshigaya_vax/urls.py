from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from accounts.access import public

urlpatterns = [
    path("", include("accounts.urls")),
    path("residents/", include("records.urls")),
    path("imports/", include("imports.urls")),
    path("audit/", include("audit.urls")),
    path("eligibility/", include("eligibility.urls")),
    path("linkage/", include("linkage.urls")),
    path("rights/", include("rights.urls")),
    path("retention/", include("retention.urls")),
    path("manage/", include("accounts.manage_urls")),
    path("api/", include("koshigaya_vax.api_urls")),
    path("i18n/setlang/", public(set_language), name="set_language"),
    path(settings.ADMIN_URL, admin.site.urls),
]
