"""Operators' screens for invoices and FIRS code lists.

Invoices are written by the pipeline only: their pages are view-only, and operators act through
actions that call services and report counts.
"""

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.utils import flatten_fieldsets
from django.utils.html import format_html

from accounts.admin_scoping import TenantModelAdmin
from invoices import operations
from invoices.models import (
    FirsCodeListEntry,
    FirsExchange,
    Invoice,
    InvoiceLine,
    InvoiceNumberSequence,
    InvoiceParty,
    InvoiceStatusChange,
    InvoiceTaxSubtotal,
)
from taxpoynt.lib.admin_counts import BoundedCountPaginator

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
class InvoiceAdmin(ViewOnlyAdminMixin, TenantModelAdmin):
    organization_path = "organization"
    # Every sale, deal and document has an invoice: the list never counts the whole table.
    paginator = BoundedCountPaginator
    show_full_result_count = False
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
            actor=request.user,
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
class InvoiceNumberSequenceAdmin(TenantModelAdmin):
    """The prefix is the organization's to choose; the counter only ever moves by numbering an
    invoice, so it is shown, never edited, and a sequence is made by the first invoice."""

    list_display = ("organization", "prefix", "last_value")
    search_fields = ("organization__legal_name", "prefix")
    fields = ("organization", "prefix", "last_value")
    readonly_fields = ("organization", "last_value")
    organization_path = "organization"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(FirsCodeListEntry)
class FirsCodeListEntryAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    # FIRS's public code lists, the same for every tenant.
    open_to_support_operators = True
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
