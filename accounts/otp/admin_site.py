"""The admin site: a staff password opens it only together with a verified second factor."""

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from accounts.admin_scoping import admin_class_for_site


class VerifiedAdminSite(admin.AdminSite):
    site_header = "TaxPoynt operations"
    site_title = "TaxPoynt admin"
    index_title = "Organizations, connections, sales and invoices"

    def register(self, model_or_iterable, admin_class=None, **options):
        """Every ModelAdmin not written for tenant data is for superusers only
        (accounts.admin_scoping), third-party ones included."""
        admin_class = admin_class_for_site(admin_class or admin.ModelAdmin)
        return super().register(model_or_iterable, admin_class, **options)

    def has_permission(self, request):
        return super().has_permission(request) and request.user.is_verified()

    def login(self, request, extra_context=None):
        """Staff signed in with a password but no code yet go on to the second factor (its page
        enrols them the first time) instead of the admin's password form."""
        user = request.user
        if user.is_active and user.is_staff and not user.is_verified():
            next_url = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index")
            query = urlencode({REDIRECT_FIELD_NAME: next_url})
            return redirect(f"{reverse('accounts:second_factor')}?{query}")
        return super().login(request, extra_context)
