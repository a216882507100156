"""Operators see API tokens by prefix, owner and dates, and revoke them; no secret is shown and
none is made here (a user makes their own on the API tokens page, where it is shown once)."""

from django.contrib import admin, messages

from accounts.admin_scoping import TenantModelAdmin
from accounts.api_tokens import services
from accounts.api_tokens.models import ApiToken

SHOWN_FIELDS = ("prefix", "name", "user", "created_at", "last_used_at", "expires_at", "revoked_at")


@admin.register(ApiToken)
class ApiTokenAdmin(TenantModelAdmin):
    # A token acts as its user in each of their organizations.
    organization_path = "user__memberships__organization"
    list_display = SHOWN_FIELDS
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("prefix", "name", "user__username")
    list_select_related = ("user",)
    fields = SHOWN_FIELDS
    readonly_fields = SHOWN_FIELDS
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    # Nothing of a token is edited: its page is for reading; revoking is the one change.
    def has_change_permission(self, request, obj=None):
        return False

    def has_revoke_permission(self, request):
        return request.user.has_perm("accounts.change_apitoken")

    @admin.action(description="Revoke the selected API tokens", permissions=["revoke"])
    def revoke(self, request, queryset):
        revoked = services.api_tokens_revoke(token_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"{revoked} API token(s) revoked.", messages.SUCCESS)
