"""Operators' screens for the FIRS sandbox: the keys it accepts and what it has seen (its faults
are the kit's, with every sandbox's)."""

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import flatten

from invoices.admin import ViewOnlyAdminMixin, pretty_json
from sandboxes.firs.models import FirsSandboxCredential, FirsSandboxInvoice
from taxpoynt.lib.fields import mask_secret


class FirsSandboxCredentialForm(forms.ModelForm):
    # Write-only: the model keeps a digest, which is never shown.
    api_secret = forms.CharField(
        label="API secret",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored only as a digest. Leave empty to keep the current secret.",
    )

    class Meta:
        model = FirsSandboxCredential
        fields = ("api_key", "label", "business_id", "service_id", "ambiguous_duplicates")

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None and not cleaned.get("api_secret"):
            self.add_error("api_secret", "A new key needs a secret.")
        return cleaned


@admin.register(FirsSandboxCredential)
class FirsSandboxCredentialAdmin(admin.ModelAdmin):
    form = FirsSandboxCredentialForm
    list_display = (
        "__str__",
        "api_key_masked",
        "service_id",
        "accepted_irns",
        "duplicate_submissions",
        "dropped_replies",
        "created_at",
    )
    search_fields = ("label", "service_id")
    readonly_fields = (
        "api_key_masked",
        "accepted_irns",
        "duplicate_submissions",
        "dropped_replies",
        "created_at",
    )

    def get_fields(self, request, obj=None):
        # The key is typed once; afterwards it is shown masked, like a tenant's FIRS key.
        key = "api_key_masked" if obj else "api_key"
        counters = ("accepted_irns", "duplicate_submissions", "dropped_replies", "created_at")
        editable = ("api_secret", "label", "business_id", "service_id", "ambiguous_duplicates")
        return (key, *editable, *(counters if obj else ()))

    @admin.display(description="API key")
    def api_key_masked(self, credential):
        return mask_secret(credential.api_key)

    def save_model(self, request, obj, form, change):
        if form.cleaned_data.get("api_secret"):
            obj.set_secret(form.cleaned_data["api_secret"])
        super().save_model(request, obj, form, change)


@admin.register(FirsSandboxInvoice)
class FirsSandboxInvoiceAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("irn", "credential", "status", "payment_status", "signed_at", "updated_at")
    list_filter = ("status", "payment_status")
    list_select_related = ("credential",)
    search_fields = ("irn",)
    fields = (
        "credential",
        "irn",
        "business_id",
        ("status", "payment_status", "payment_reference"),
        ("validated_at", "signed_at"),
        ("transmitted_at", "confirmed_at"),
        "updated_at",
        "payload_json",
    )
    readonly_fields = flatten(fields)

    @admin.display(description="Payload")
    def payload_json(self, invoice):
        return pretty_json(invoice.payload)
