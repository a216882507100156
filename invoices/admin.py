"""Operators' screens for invoices, FIRS code lists and the FIRS sandbox.

Invoices are written by the pipeline only: their pages are view-only, and operators act through
actions that call services and report counts.
"""

import json

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.utils import flatten, flatten_fieldsets
from django.utils.html import format_html

from invoices import operations
from invoices.firs.sandbox import (
    FAULT_FIELDS,
    OPERATIONS,
    sandbox_faults_reset,
    sandbox_faults_set,
)
from invoices.models import (
    FirsCodeListEntry,
    FirsExchange,
    FirsSandboxCredential,
    FirsSandboxFaults,
    FirsSandboxInvoice,
    Invoice,
    InvoiceLine,
    InvoiceNumberSequence,
    InvoiceParty,
    InvoiceStatusChange,
    InvoiceTaxSubtotal,
)
from taxpoynt.lib.fields import mask_secret

# Each invoice marked paid is one synchronous FIRS call inside the admin's request.
MARK_PAID_MAX_SELECTION = 50


def pretty_json(value):
    if value in (None, "", {}, []):
        return None  # the admin shows its empty-value dash
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False))


def collapsed_json(value):
    """Pretty JSON folded away, for rows in a tabular inline."""
    if value in (None, "", {}, []):
        return None
    return format_html(
        "<details><summary>show</summary><pre>{}</pre></details>",
        json.dumps(value, indent=2, ensure_ascii=False),
    )


class ViewOnlyAdminMixin:
    """Rows machines write: shown, never added, changed or deleted here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ViewOnlyInline(ViewOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False


class InvoiceLineInline(ViewOnlyInline):
    model = InvoiceLine
    fields = readonly_fields = (
        "position",
        "name",
        "hs_code",
        "quantity",
        "price_amount",
        "line_extension_amount",
    )


class InvoiceTaxSubtotalInline(ViewOnlyInline):
    model = InvoiceTaxSubtotal
    verbose_name_plural = "tax subtotals"
    fields = readonly_fields = ("category", "percent", "taxable_amount", "tax_amount")


class InvoicePartyInline(ViewOnlyInline):
    model = InvoiceParty
    verbose_name_plural = "parties"
    fields = readonly_fields = ("role", "name", "tin", "email", "telephone", "address_json")

    @admin.display(description="Address")
    def address_json(self, party):
        return collapsed_json(party.address)


class InvoiceStatusChangeInline(ViewOnlyInline):
    model = InvoiceStatusChange
    verbose_name_plural = "status history"
    fields = readonly_fields = ("at", "from_status", "to_status", "note")


class FirsExchangeInline(ViewOnlyInline):
    model = FirsExchange
    verbose_name_plural = "FIRS exchanges"
    fields = readonly_fields = (
        "at",
        "operation",
        "http_status",
        "ok",
        "error",
        "duration_ms",
        "response_json",
    )

    @admin.display(description="Response")
    def response_json(self, exchange):
        return collapsed_json(exchange.response)


class InvoiceActionForm(ActionForm):
    reference = forms.CharField(
        label="Payment reference (for “Mark paid”)", required=False, max_length=255
    )


@admin.register(Invoice)
class InvoiceAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "irn",
        "organization",
        "source",
        "status",
        "payable_amount",
        "currency",
        "created_at",
        "signed_at",
    )
    list_filter = ("status", "stage", "source_type", "kind", "payment_status", "organization")
    list_select_related = ("organization",)
    date_hierarchy = "issue_date"
    search_fields = ("irn", "number", "source_reference")
    actions = ("redrive", "confirm_now", "mark_paid")
    action_form = InvoiceActionForm
    inlines = (
        InvoiceLineInline,
        InvoiceTaxSubtotalInline,
        InvoicePartyInline,
        InvoiceStatusChangeInline,
        FirsExchangeInline,
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "organization",
                    "irn",
                    "number",
                    ("purpose", "type_code", "kind"),
                    ("issue_date", "issue_time"),
                    "billing_reference_irn",
                    ("source_type", "source_id", "source_reference"),
                )
            },
        ),
        (
            "Totals",
            {
                "fields": (
                    "currency",
                    ("line_extension_amount", "tax_exclusive_amount"),
                    ("tax_amount", "tax_inclusive_amount"),
                    "payable_amount",
                )
            },
        ),
        (
            "Pipeline",
            {
                "fields": (
                    ("stage", "status", "payment_status"),
                    "problems_json",
                    ("attempts", "next_attempt_at"),
                    ("claimed_until", "claim_token"),
                    "sign_attempted_at",
                )
            },
        ),
        (
            "Times",
            {
                "fields": (
                    ("created_at", "updated_at"),
                    ("validated_at", "signed_at"),
                    ("transmitted_at", "confirmed_at"),
                    "paid_at",
                )
            },
        ),
        ("FIRS", {"fields": ("payload_json", "sign_response_json", "qr_stamp")}),
    )
    readonly_fields = flatten_fieldsets(fieldsets)

    @admin.display(description="Source", ordering="source_type")
    def source(self, invoice):
        return (
            f"{invoice.get_source_type_display()} {invoice.source_reference or invoice.source_id}"
        )

    @admin.display(description="Problems")
    def problems_json(self, invoice):
        return pretty_json(invoice.problems)

    @admin.display(description="FIRS payload")
    def payload_json(self, invoice):
        return pretty_json(invoice.payload)

    @admin.display(description="FIRS sign response")
    def sign_response_json(self, invoice):
        return pretty_json(invoice.sign_response)

    def has_operate_permission(self, request):
        # The pages are view-only; acting on invoices needs the change permission.
        return request.user.has_perm("invoices.change_invoice")

    @admin.action(
        description="Re-drive (back on the queue from the last step)", permissions=["operate"]
    )
    def redrive(self, request, queryset):
        outcome = operations.invoices_redrive(invoices=queryset, actor=request.user)
        self._report(request, "Re-driven", outcome)

    @admin.action(
        description="Confirm with FIRS now (skip the retry wait)", permissions=["operate"]
    )
    def confirm_now(self, request, queryset):
        outcome = operations.invoices_confirm_now(invoices=queryset, actor=request.user)
        self._report(request, "Queued to go on to FIRS confirmation now", outcome)

    @admin.action(description="Mark paid (tells FIRS)", permissions=["operate"])
    def mark_paid(self, request, queryset):
        if queryset.count() > MARK_PAID_MAX_SELECTION:
            self.message_user(
                request,
                f"Mark paid calls FIRS once per invoice; select at most {MARK_PAID_MAX_SELECTION}.",
                messages.ERROR,
            )
            return
        outcome = operations.invoices_mark_paid(
            invoices=queryset.select_related("organization"),
            reference=request.POST.get("reference", "").strip(),
        )
        self._report(request, "Marked paid", outcome)

    def _report(self, request, done_label: str, outcome: operations.BulkOutcome) -> None:
        parts = [f"{done_label}: {outcome.done}"]
        parts += [
            f"skipped, {reason}: {count}" for reason, count in sorted(outcome.skipped.items())
        ]
        if outcome.failures:
            parts.append(f"failed: {len(outcome.failures)}")
        level = messages.SUCCESS if outcome.done and not outcome.failures else messages.WARNING
        self.message_user(request, "; ".join(parts) + ".", level)
        for failure in outcome.failures:
            self.message_user(request, failure, messages.ERROR)


@admin.register(InvoiceNumberSequence)
class InvoiceNumberSequenceAdmin(admin.ModelAdmin):
    """The prefix is the organization's to choose; the counter only ever moves by numbering an
    invoice, so it is shown, never edited, and a sequence is made by the first invoice."""

    list_display = ("organization", "prefix", "last_value")
    search_fields = ("organization__legal_name", "prefix")
    fields = ("organization", "prefix", "last_value")
    readonly_fields = ("organization", "last_value")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(FirsCodeListEntry)
class FirsCodeListEntryAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("resource", "code", "label", "refreshed_at")
    list_filter = ("resource",)
    search_fields = ("code",)
    fields = readonly_fields = ("resource", "code", "data_json", "refreshed_at")

    @admin.display(description="Label")
    def label(self, entry):
        return entry.data.get("value") or entry.data.get("name") or entry.data.get("description")

    @admin.display(description="Data")
    def data_json(self, entry):
        return pretty_json(entry.data)


# --- FIRS sandbox (development, demos and tests only) ----------------------------------------


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
        fields = ("api_key", "label", "business_id", "service_id")

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None and not cleaned.get("api_secret"):
            self.add_error("api_secret", "A new key needs a secret.")
        return cleaned


class FirsSandboxFaultsForm(forms.ModelForm):
    class Meta:
        model = FirsSandboxFaults
        fields = FAULT_FIELDS

    def clean_only_operations(self):
        value = self.cleaned_data["only_operations"]
        unknown = FirsSandboxFaults(only_operations=value).operations() - OPERATIONS
        if unknown:
            raise forms.ValidationError(
                f"Unknown operations: {', '.join(sorted(unknown))}. "
                f"Known: {', '.join(sorted(OPERATIONS))}."
            )
        return value


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
        return (key, "api_secret", "label", "business_id", "service_id", *(counters if obj else ()))

    @admin.display(description="API key")
    def api_key_masked(self, credential):
        return mask_secret(credential.api_key)

    def save_model(self, request, obj, form, change):
        if form.cleaned_data.get("api_secret"):
            obj.set_secret(form.cleaned_data["api_secret"])
        super().save_model(request, obj, form, change)


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


class FirsSandboxFaultsAdmin(admin.ModelAdmin):
    """The single row of fault switches; saved through the sandbox's service, which keeps it the
    row every process reads and drops the cached copy so the change applies at once."""

    form = FirsSandboxFaultsForm
    list_display = (
        "__str__",
        "latency_ms",
        "server_error_rate",
        "rate_limit_rate",
        "busy_rate",
        "dropped_reply_rate",
        "only_operations",
        "updated_at",
    )
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not FirsSandboxFaults.objects.exists()

    def save_model(self, request, obj, form, change):
        saved = sandbox_faults_set(**{name: getattr(obj, name) for name in FAULT_FIELDS})
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        sandbox_faults_reset()

    def delete_queryset(self, request, queryset):
        sandbox_faults_reset()


# Production has no sandbox mounted; its tables stay out of the operators' way there.
if settings.SANDBOX_ENABLED:
    admin.site.register(FirsSandboxCredential, FirsSandboxCredentialAdmin)
    admin.site.register(FirsSandboxInvoice, FirsSandboxInvoiceAdmin)
    admin.site.register(FirsSandboxFaults, FirsSandboxFaultsAdmin)
