from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin

from accounts import services
from accounts.api_tokens import admin as api_token_admin  # noqa: F401 (registers its admin)
from accounts.models import Invitation, Membership, Organization, User
from taxpoynt.lib.fields import mask_secret


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)
    readonly_fields = ("last_used_at",)


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
    list_display = ("user", "organization", "role", "created_at", "last_used_at")
    list_filter = ("role",)
    search_fields = ("user__username", "organization__legal_name")
    autocomplete_fields = ("user", "organization")
    readonly_fields = ("last_used_at",)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Invitations are made by tenants' owners and admins (the link goes only to the invited
    address); operators look them up and revoke them."""

    list_display = ("email", "organization", "role", "status", "invited_by", "expires_at")
    list_filter = ("role", ("accepted_at", admin.EmptyFieldListFilter))
    search_fields = ("email", "organization__legal_name")
    list_select_related = ("organization", "invited_by")
    fields = (
        "organization",
        "email",
        "role",
        "status",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "accepted_by",
        "revoked_at",
    )
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Status")
    def status(self, obj):
        return obj.get_status_display()

    @admin.action(description="Revoke the selected invitations", permissions=["delete"])
    def revoke(self, request, queryset):
        revoked = services.invitations_revoke(invitation_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"{revoked} invitation(s) revoked.", messages.SUCCESS)
