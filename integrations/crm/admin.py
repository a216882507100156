"""Operators' screens for CRM connections and deals: the won-stage mapping is edited here, and
actions call the services and report counts."""

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
from integrations.crm.models import CRMConnection, CRMDeal
from invoices.admin import pretty_json
from invoices.models import Invoice


@admin.register(CRMConnection)
class CRMConnectionAdmin(ConnectionAdminMixin, TenantModelAdmin):
    list_display = (
        "__str__",
        "organization",
        "crm_type",
        "account_id",
        "health",
        "is_active",
        "is_sandbox",
        "won_stage_ids",
        "last_sync_at",
    )
    list_filter = ("health", "is_active", "crm_type", "is_sandbox")
    search_fields = ("account_id", "connection_name", "organization__legal_name")
    actions = ("activate", "deactivate", "test_connection", "sync_now")
    # What is left editable is the mapping: won stages, pipelines, TIN property, sync schedule.
    readonly_fields = (*CONNECTION_READONLY_FIELDS, "crm_type")

    @admin.action(description="Sync now (won deals changed since the last sync)")
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
        return (("won_not_invoiced", "Won, not invoiced"), ("failed", "Failed"))

    def queryset(self, request, queryset):
        if self.value() == "won_not_invoiced":
            return queryset.filter(is_won=True, invoice__isnull=True)
        if self.value() == "failed":
            return queryset.filter(
                Q(status=CRMDeal.Status.FAILED) | Q(invoice__status=Invoice.Status.NEEDS_ATTENTION)
            )
        return queryset


@admin.register(CRMDeal)
class CRMDealAdmin(SourceRowAdminMixin, TenantModelAdmin):
    list_display = (
        "external_deal_id",
        "deal_title",
        "connection",
        "deal_stage",
        "status",
        "deal_amount",
        "currency",
        "buyer_tin",
        "received_at",
        "signed_at",
        "invoice_link",
    )
    list_filter = (AttentionFilter, "status", "is_won", "connection__crm_type")
    search_fields = ("=external_deal_id", "deal_title", "buyer_name", "=buyer_tin")
    actions = ("generate_invoice", "retry")
    nothing_to_retry = "not won, on its way or done"
    fields = (
        "id",
        "connection",
        "external_deal_id",
        "deal_title",
        ("deal_stage", "pipeline_id", "is_won"),
        ("status", "attempts"),
        ("deal_amount", "currency"),
        ("buyer_name", "buyer_tin"),
        ("expected_close_date", "last_modified_at"),
        "invoice_link",
        "invoice_generated",
        "processing_errors_json",
        ("received_at", "invoiced_at", "signed_at"),
        ("created_at", "updated_at"),
        "line_items_json",
        "customer_json",
    )
    readonly_fields = flatten(fields)

    @admin.display(description="Line items")
    def line_items_json(self, row):
        return pretty_json(row.line_items)

    def source_row_retry(self, row, *, actor) -> bool:
        return pipeline.source_retry(row=row, actor=actor)

    @admin.action(description="Generate invoice (won deals without one)", permissions=["operate"])
    def generate_invoice(self, request, queryset):
        candidates = queryset.filter(is_won=True, invoice__isnull=True).select_related("invoice")
        queued = sum(self.source_row_retry(row, actor=request.user) for row in candidates)
        self.message_user(
            request,
            f"Invoicing queued: {queued}; "
            f"not won or already invoiced: {queryset.count() - queued}.",
        )
