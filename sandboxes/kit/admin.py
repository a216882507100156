"""Every sandbox's fault switches, per account, in the admin."""

from django import forms
from django.contrib import admin

from sandboxes.kit.faults import FAULT_FIELDS, faults_reset, faults_set, operations_known
from sandboxes.kit.models import SandboxFaults


class SandboxFaultsForm(forms.ModelForm):
    class Meta:
        model = SandboxFaults
        fields = ("sandbox", "account", *FAULT_FIELDS)

    def clean(self):
        cleaned = super().clean()
        names = {name.strip() for name in cleaned.get("only_operations", "").split(",")}
        known = operations_known(sandbox=cleaned.get("sandbox", ""))
        unknown = sorted(name for name in names - known if name)
        if unknown:
            self.add_error(
                "only_operations",
                f"Unknown operations: {', '.join(unknown)}. Known: {', '.join(sorted(known))}.",
            )
        return cleaned


@admin.register(SandboxFaults)
class SandboxFaultsAdmin(admin.ModelAdmin):
    """Saved through the kit's store, which drops the cached copy so a change applies at once."""

    form = SandboxFaultsForm
    list_display = (
        "__str__",
        "latency_ms",
        "server_error_rate",
        "rate_limit_rate",
        "platform_error_rate",
        "dropped_reply_rate",
        "only_operations",
        "updated_at",
    )
    list_filter = ("sandbox",)
    search_fields = ("account",)
    readonly_fields = ("updated_at",)

    def save_model(self, request, obj, form, change):
        if change:  # the row may have moved to another sandbox or account
            before = SandboxFaults.objects.get(pk=obj.pk)
            faults_reset(sandbox=before.sandbox, account=before.account)
        saved = faults_set(
            sandbox=obj.sandbox,
            account=obj.account,
            changes={name: getattr(obj, name) for name in FAULT_FIELDS},
        )
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        faults_reset(sandbox=obj.sandbox, account=obj.account)

    def delete_queryset(self, request, queryset):
        for faults in queryset:
            faults_reset(sandbox=faults.sandbox, account=faults.account)
