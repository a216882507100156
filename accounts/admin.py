from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.api_tokens import admin as api_token_admin  # noqa: F401 (registers its admin)
from accounts.models import Membership, Organization, User
from taxpoynt.lib.fields import mask_secret


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(User)
class TaxpoyntUserAdmin(UserAdmin):
    list_display = ("username", "email", "is_staff", "is_active", "last_login")


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("legal_name", "tin", "firs_service_id", "contact_email", "is_active")
    list_filter = ("is_active",)
    search_fields = ("legal_name", "tin", "contact_email")
    readonly_fields = ("public_id", "created_at", "firs_api_key_masked", "firs_api_secret_masked")
    # Secrets are never rendered here, only masked; they are set through services and tenant pages.
    exclude = ("firs_api_key", "firs_api_secret")
    inlines = [MembershipInline]

    @admin.display(description="FIRS API key")
    def firs_api_key_masked(self, obj):
        return mask_secret(obj.firs_api_key)

    @admin.display(description="FIRS API secret")
    def firs_api_secret_masked(self, obj):
        return mask_secret(obj.firs_api_secret)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__username", "organization__legal_name")
    autocomplete_fields = ("user", "organization")
