"""Operators' screens shared by every family: the webhook inbox and quarantine, sync runs, and
a paginator that never counts a whole huge (partitioned) table."""

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten
from django.core.paginator import Paginator
from django.db import connection as db_connection
from django.utils.functional import cached_property

from integrations.base import services
from integrations.base.models import InboundEvent, QuarantinedDelivery, SyncRun
from invoices.admin import ViewOnlyAdminMixin, pretty_json

# Beyond this many rows a filtered list shows "10,000+" pages' worth, not an exact count.
BOUNDED_COUNT = 10_000


class BoundedCountPaginator(Paginator):
    """No COUNT(*) over a huge table (design §6): unfiltered, the planner's estimate (summed over
    a partitioned table's partitions); filtered, a count that stops at BOUNDED_COUNT rows."""

    @cached_property
    def count(self):
        query = self.object_list.query
        if not query.where:
            return self._estimate(self.object_list.model._meta.db_table)
        return self.object_list.order_by()[:BOUNDED_COUNT].count()

    @staticmethod
    def _estimate(table: str) -> int:
        with db_connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint
                FROM pg_class c
                WHERE c.oid = %s::regclass
                   OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = %s::regclass)
                """,
                [table, table],
            )
            return int(cursor.fetchone()[0])


@admin.register(InboundEvent)
class InboundEventAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("event_id", "platform", "event_type", "status", "attempts", "received_at")
    list_filter = ("status", "family", "platform", "event_type")
    search_fields = ("event_id", "object_id")
    paginator = BoundedCountPaginator
    show_full_result_count = False
    fields = (
        "family",
        "platform",
        "connection_id",
        "event_id",
        "event_type",
        "object_id",
        "status",
        "attempts",
        "error",
        "received_at",
        "processed_at",
        "payload_json",
    )
    readonly_fields = flatten(fields)

    @admin.display(description="Payload")
    def payload_json(self, event):
        return pretty_json(event.payload)


@admin.register(QuarantinedDelivery)
class QuarantinedDeliveryAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("received_at", "platform", "reason", "connection_id", "body_truncated")
    list_filter = ("family", "platform")
    search_fields = ("reason",)
    fields = (
        "family",
        "platform",
        "connection_id",
        "reason",
        "received_at",
        "headers_json",
        "body_text",
        "body_truncated",
    )
    readonly_fields = flatten(fields)
    actions = ("replay",)

    @admin.display(description="Headers (signatures withheld)")
    def headers_json(self, delivery):
        return pretty_json(delivery.headers)

    @admin.display(description="Body")
    def body_text(self, delivery):
        return bytes(delivery.body).decode("utf-8", errors="replace")

    def has_replay_permission(self, request):
        return request.user.is_superuser

    @admin.action(
        description="Replay (accept without the signature: you vouch for these deliveries)",
        permissions=["replay"],
    )
    def replay(self, request, queryset):
        stored = duplicates = 0
        for delivery in queryset:
            try:
                accepted = services.quarantined_delivery_replay(delivery=delivery)
            except services.DeliveryRefused as refused:
                self.message_user(request, f"{delivery}: {refused.reason}", messages.ERROR)
                continue
            stored += accepted.stored
            duplicates += accepted.duplicates
        self.message_user(request, f"Replayed: {stored} events stored, {duplicates} duplicates.")


@admin.register(SyncRun)
class SyncRunAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "platform",
        "kind",
        "status",
        "pages",
        "rows",
        "errors",
        "window_start",
        "window_end",
        "finished_at",
    )
    list_filter = ("status", "kind", "family", "platform")
    list_select_related = ("organization",)
    fields = (
        "organization",
        "family",
        "platform",
        "connection_id",
        "kind",
        "status",
        ("window_start", "window_end"),
        ("pages", "rows", "errors"),
        "last_error",
        ("created_at", "started_at", "heartbeat_at", "finished_at"),
    )
    readonly_fields = flatten(fields)
