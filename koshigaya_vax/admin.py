from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminSite


class KoshigayaAdminSite(OTPAdminSite):
    """The Django admin, reachable only with a verified second factor (administrators only)."""

    site_header = _("越谷市 予防接種記録 管理")
    site_title = _("予防接種記録 管理")
    index_title = _("管理")
