"""Operators' screens for ERP connections and documents; actions call the pipeline and report
counts."""

from django.contrib import admin
from django.contrib.admin.utils import flatten
from django.db.models import Q

from accounts.admin_scoping import TenantModelAdmin
from integrations.base import pipeline
from integrations.base.admin import (
    CONNECTION_READONLY_FIELDS,
    ConnectionAdminMixin,
    SourceRowAdminMixin,
)
from integrations.erp.models import ERPConnection, ERPDocument
from invoices.admin import pretty_json
from invoices.models import Invoice


@admin.register(ERPConnection)
class ERPConnectionAdmin(ConnectionAdminMixin, TenantModelAdmin):
    list_display = (
        "__str__",
        "organization",
        "erp_type",
        "account_id",
        "health",
        "is_active",
        "is_sandbox",
        "sync_every_minutes",
        "last_sync_at",
    )
    list_filter = ("health", "is_active", "erp_type", "is_sandbox")
    search_fields = ("account_id", "connection_name", "organization__legal_name")
    actions = ("activate", "deactivate", "test_connection", "sync_now")
    readonly_fields = (*CONNECTION_READONLY_FIELDS, "erp_type")

    @admin.action(description="Sync now (documents changed since the last sync)")
    def sync_now(self, request, queryset):
        for connection in queryset:
            pipeline.connection_sync_start(connection=connection)
        self.message_user(
            request, f"Queued {queryset.count()} syncs on the standard queue; see Sync runs."
        )


class AttentionFilter(admin.SimpleListFilter):
    title = "attention"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return (("posted_not_invoiced", "Posted, not invoiced"), ("failed", "Failed"))

    def queryset(self, request, queryset):
        if self.value() == "posted_not_invoiced":
            return queryset.filter(is_posted=True, invoice__isnull=True)
        if self.value() == "failed":
            return queryset.filter(
                Q(status=ERPDocument.Status.FAILED)
                | Q(invoice__status=Invoice.Status.NEEDS_ATTENTION)
            )
        return queryset


@admin.register(ERPDocument)
class ERPDocumentAdmin(SourceRowAdminMixin, TenantModelAdmin):
    list_display = (
        "document_number",
        "external_document_id",
        "document_kind",
        "connection",
        "status",
        "total_amount",
        "currency",
        "buyer_tin",
        "received_at",
        "signed_at",
        "invoice_link",
    )
    list_filter = (
        AttentionFilter,
        "status",
        "document_kind",
        "is_posted",
        "connection__erp_type",
    )
    search_fields = ("=external_document_id", "=document_number", "buyer_name", "=buyer_tin")
    actions = ("retry",)
    nothing_to_retry = "not posted, on its way or done"
    fields = (
        "id",
        "connection",
        ("external_document_id", "document_number"),
        ("document_kind", "original_external_id"),
        ("is_posted", "document_state"),
        ("status", "attempts"),
        ("total_amount", "tax_amount", "currency"),
        ("buyer_name", "buyer_tin"),
        ("document_date", "last_modified_at"),
        "invoice_link",
        "invoice_generated",
        "processing_errors_json",
        ("received_at", "invoiced_at", "signed_at"),
        ("irn_written_at", "irn_write_back_error"),
        ("paid_in_erp_at", "payment_report_error"),
        ("created_at", "updated_at"),
        "line_items_json",
        "taxes_json",
        "customer_json",
    )
    readonly_fields = flatten(fields)

    @admin.display(description="Line items")
    def line_items_json(self, row):
        return pretty_json(row.line_items)

    @admin.display(description="Taxes")
    def taxes_json(self, row):
        return pretty_json(row.taxes)

    def source_row_retry(self, row, *, actor) -> bool:
        return pipeline.source_retry(row=row, actor=actor)
