"""Operators' screens shared by every family: the webhook inbox and quarantine, sync runs, and
what every family's connection and source-row screens share (lists counted by
``BoundedCountPaginator``)."""

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten
from django.contrib.auth import get_permission_codename
from django.db.models import Q
from django.utils.html import format_html

from accounts.admin_scoping import TenantModelAdmin
from integrations.base import events, families, pipeline, services
from integrations.base.connections import connection_settings_update
from integrations.base.errors import ConnectorError
from integrations.base.models import InboundEvent, QuarantinedDelivery, SyncRun
from invoices.admin import ViewOnlyAdminMixin, pretty_json
from taxpoynt.lib.admin_counts import BoundedCountPaginator
from taxpoynt.lib.fields import mask_secret

# The connection columns every family's admin shows read-only (ConnectionBase's machine fields).
CONNECTION_READONLY_FIELDS = (
    "id",
    "organization",
    "user",
    "account_id",
    "credentials_masked",
    "webhook_secret_masked",
    "webhook_url",
    "is_active",
    "is_sandbox",
    "health",
    "last_error",
    "token_expires_at",
    "last_sync_at",
    "sync_cursor",
    "created_at",
    "updated_at",
)


class ConnectionAdminMixin:
    """What every family's connection admin shares: secrets shown masked only, no hand-made
    connections, and the activate / deactivate / test actions."""

    list_select_related = ("organization",)
    organization_path = "organization"
    # Secrets change through the API, the pages or actions, never in this form.
    exclude = ("credentials_encrypted", "webhook_secret")

    def has_add_permission(self, request):
        # Connections are made by connecting (OAuth or sandbox), not typed in.
        return False

    def save_model(self, request, obj, form, change):
        # Only what the operator edited: workers record health, cursor and tokens meanwhile.
        connection_settings_update(
            connection=obj,
            changes={name: getattr(obj, name) for name in form.changed_data},
            actor=request.user,
        )

    @admin.display(description="Credentials")
    def credentials_masked(self, connection):
        return mask_secret(connection.credentials_encrypted)

    @admin.display(description="Webhook signing secret")
    def webhook_secret_masked(self, connection):
        return mask_secret(connection.webhook_secret)

    @admin.action(description="Activate (and process the events that waited)")
    def activate(self, request, queryset):
        waiting = sum(events.connection_activate(connection=c) for c in queryset)
        self.message_user(request, f"Activated {queryset.count()}; {waiting} events queued.")

    @admin.action(description="Deactivate (deliveries are kept, not processed)")
    def deactivate(self, request, queryset):
        for connection in queryset:
            events.connection_deactivate(connection=connection)
        self.message_user(request, f"Deactivated {queryset.count()}.")

    @admin.action(description="Test connection")
    def test_connection(self, request, queryset):
        for connection in queryset:
            try:
                pipeline.connection_test(connection=connection)
            except ConnectorError as error:
                self.message_user(request, f"{connection}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"{connection}: answered.")


class SourceRowAdminMixin(ViewOnlyAdminMixin):
    """What every family's source-row admin (POS transactions, CRM deals) shares: newest first
    without a full count, the invoice linked, and the retry action. The family gives
    ``source_row_retry`` (False: nothing to retry) and ``nothing_to_retry``, what those were."""

    list_select_related = ("connection", "invoice")
    paginator = BoundedCountPaginator
    show_full_result_count = False
    ordering = ("-received_at",)
    nothing_to_retry = ""
    organization_path = "connection__organization"

    @admin.display(description="Invoice")
    def invoice_link(self, row):
        if row.invoice_id is None:
            return None
        return format_html(
            '<a href="/admin/invoices/invoice/{}/change/">{} ({})</a>',
            row.invoice_id,
            row.invoice.irn,
            row.invoice.get_status_display(),
        )

    @admin.display(description="Processing errors")
    def processing_errors_json(self, row):
        return pretty_json(row.processing_errors)

    @admin.display(description="Customer")
    def customer_json(self, row):
        return pretty_json(row.customer_data)

    def has_operate_permission(self, request):
        # The rows are view-only; acting on them needs the change permission.
        codename = get_permission_codename("change", self.opts)
        return request.user.has_perm(f"{self.opts.app_label}.{codename}")

    def source_row_retry(self, row, *, actor) -> bool:
        raise NotImplementedError

    @admin.action(
        description="Retry (invoice again, or re-drive an invoice that needs attention)",
        permissions=["operate"],
    )
    def retry(self, request, queryset):
        queued = sum(
            self.source_row_retry(row, actor=request.user)
            for row in queryset.select_related("invoice", "connection")
        )
        self.message_user(
            request,
            f"Retried: {queued}; nothing to retry ({self.nothing_to_retry}): "
            f"{queryset.count() - queued}.",
        )


class ByConnectionIdAdmin(TenantModelAdmin):
    """Rows that name their connection by (family, connection id) rather than a foreign key:
    scoped through the family's connection table. A row of no connection (a delivery for an
    unknown account) belongs to no organization, so only superusers see it."""

    def scope_queryset(self, queryset, organization_ids):
        of_organizations = Q(pk__in=[])
        for family in families.registered():
            connection_ids = family.connection_model.objects.filter(
                organization_id__in=organization_ids
            ).values("id")
            of_organizations |= Q(family=family.name, connection_id__in=connection_ids)
        return queryset.filter(of_organizations)


@admin.register(InboundEvent)
class InboundEventAdmin(ViewOnlyAdminMixin, ByConnectionIdAdmin):
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
class QuarantinedDeliveryAdmin(ViewOnlyAdminMixin, ByConnectionIdAdmin):
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
class SyncRunAdmin(ViewOnlyAdminMixin, TenantModelAdmin):
    organization_path = "organization"
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
