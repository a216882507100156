"""The audit trail in the admin: read-only, each support operator seeing their organizations'."""

from django.contrib import admin

from accounts.admin_scoping import TenantModelAdmin
from audit.models import AuditEvent
from invoices.admin import ViewOnlyAdminMixin, pretty_json

FIELDS = (
    "at",
    "actor_label",
    "actor",
    "organization",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "changes_json",
)


@admin.register(AuditEvent)
class AuditEventAdmin(ViewOnlyAdminMixin, TenantModelAdmin):
    organization_path = "organization"
    list_display = ("at", "actor_label", "organization", "action", "target_label")
    list_filter = ("action",)
    list_select_related = ("organization",)
    search_fields = ("actor_label", "target_label", "=target_id")
    date_hierarchy = "at"
    fields = readonly_fields = FIELDS

    @admin.display(description="What changed")
    def changes_json(self, event):
        return pretty_json(event.changes)
