"""Operators' screens for POS connections and transactions.

Transactions live in a partitioned table: the list never counts it whole (BoundedCountPaginator)
and its date filter offers fixed windows, which prune partitions, rather than a date hierarchy.
"""

from datetime import timedelta

from django.contrib import admin
from django.contrib.admin.utils import flatten
from django.db.models import Q
from django.utils import timezone

from accounts.admin_scoping import TenantModelAdmin
from integrations.base import pipeline
from integrations.base.admin import (
    CONNECTION_READONLY_FIELDS,
    ConnectionAdminMixin,
    SourceRowAdminMixin,
)
from integrations.base.connections import connection_webhook_secret_rotate
from integrations.pos.models import POSConnection, POSTransaction
from invoices import operations
from invoices.admin import pretty_json
from invoices.models import Invoice
from taxpoynt.lib.fields import mask_secret

# "Sync now" pulls this far back; a longer back-fill is started from the API or the pages.
SYNC_NOW_WINDOW = timedelta(days=1)


@admin.register(POSConnection)
class POSConnectionAdmin(ConnectionAdminMixin, TenantModelAdmin):
    list_display = (
        "__str__",
        "organization",
        "pos_type",
        "account_id",
        "health",
        "is_active",
        "is_sandbox",
        "last_sync_at",
    )
    list_filter = ("health", "is_active", "pos_type", "is_sandbox")
    search_fields = ("account_id", "location_name", "organization__legal_name")
    actions = ("activate", "deactivate", "test_connection", "sync_now", "rotate_webhook_key")
    readonly_fields = (*CONNECTION_READONLY_FIELDS, "pos_type")

    @admin.action(description="Sync now (back-fill the last day on the batch queue)")
    def sync_now(self, request, queryset):
        end = timezone.now()
        for connection in queryset:
            pipeline.backfill_start(connection=connection, start=end - SYNC_NOW_WINDOW, end=end)
        self.message_user(request, f"Started {queryset.count()} sync runs; see Sync runs.")

    @admin.action(description="Rotate webhook key (sandbox connections sign with the new one)")
    def rotate_webhook_key(self, request, queryset):
        for connection in queryset:
            key = connection_webhook_secret_rotate(connection=connection, actor=request.user)
            self.message_user(
                request,
                f"{connection}: new key {mask_secret(key)}; paste the whole "
                "key into the platform's webhook settings from the tenant pages or the API.",
            )


class FailedFilter(admin.SimpleListFilter):
    title = "failure"
    parameter_name = "failed"

    def lookups(self, request, model_admin):
        return (("yes", "Failed"), ("not_invoiced", "Not invoiced"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(
                Q(status=POSTransaction.Status.FAILED)
                | Q(invoice__status=Invoice.Status.NEEDS_ATTENTION)
            )
        if self.value() == "not_invoiced":
            return queryset.filter(invoice__isnull=True)
        return queryset


class WhenFilter(admin.SimpleListFilter):
    """Fixed windows on transaction_timestamp: each prunes to a partition or two."""

    title = "sold"
    parameter_name = "sold"
    WINDOWS = {"today": 1, "7d": 7, "30d": 30, "90d": 90}

    def lookups(self, request, model_admin):
        return (
            ("today", "Last 24 hours"),
            ("7d", "Last 7 days"),
            ("30d", "Last 30 days"),
            ("90d", "Last 90 days"),
        )

    def queryset(self, request, queryset):
        days = self.WINDOWS.get(self.value())
        if days is None:
            return queryset
        return queryset.filter(transaction_timestamp__gte=timezone.now() - timedelta(days=days))


@admin.register(POSTransaction)
class POSTransactionAdmin(SourceRowAdminMixin, TenantModelAdmin):
    list_display = (
        "external_transaction_id",
        "connection",
        "kind",
        "status",
        "transaction_amount",
        "currency",
        "transaction_timestamp",
        "received_at",
        "signed_at",
        "invoice_link",
    )
    list_filter = (FailedFilter, "status", "kind", "connection__pos_type", WhenFilter)
    search_fields = ("=external_transaction_id", "=original_external_id")
    actions = ("retry", "redrive")
    nothing_to_retry = "on its way or done"
    fields = (
        "id",
        "connection",
        "external_transaction_id",
        ("kind", "status", "attempts"),
        "original_external_id",
        ("transaction_amount", "tax_amount", "currency"),
        "transaction_timestamp",
        "external_location_id",
        "invoice_link",
        ("invoice_generated", "invoice_transmitted"),
        "processing_errors_json",
        ("received_at", "invoiced_at", "signed_at"),
        ("created_at", "updated_at"),
        "items_json",
        "customer_json",
    )
    readonly_fields = flatten(fields)

    @admin.display(description="Items")
    def items_json(self, row):
        return pretty_json(row.items)

    def source_row_retry(self, row, *, actor) -> bool:
        return pipeline.source_retry(row=row, actor=actor)

    @admin.action(
        description="Re-drive their invoices (back on the queue from the last step)",
        permissions=["operate"],
    )
    def redrive(self, request, queryset):
        invoice_ids = [row.invoice_id for row in queryset if row.invoice_id]
        outcome = operations.invoices_redrive(
            invoices=Invoice.objects.filter(pk__in=invoice_ids), actor=request.user
        )
        self.message_user(
            request,
            f"Re-driven: {outcome.done}; without an invoice: {queryset.count() - len(invoice_ids)}"
            + "".join(f"; {reason}: {count}" for reason, count in outcome.skipped.items())
            + ".",
        )
