from django.contrib.admin.apps import AdminConfig


class KoshigayaAdminConfig(AdminConfig):
    default_site = "koshigaya_vax.admin.KoshigayaAdminSite"
