from django.contrib.admin.apps import AdminConfig


class VerifiedAdminConfig(AdminConfig):
    """django.contrib.admin with the second-factor site as ``admin.site``, so every ModelAdmin
    registered anywhere lands behind it."""

    default_site = "accounts.otp.admin_site.VerifiedAdminSite"
