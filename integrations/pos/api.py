"""Tenant API for POS: connect, connections (settings, test, back-fill, disconnect),
transactions and sync runs. Every lookup is scoped to the caller's organization inside the query:
another tenant's object answers 404 exactly like a missing one."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from integrations.base import pipeline
from integrations.base.api import (
    CONNECTION_READ_ONLY_FIELDS,
    ConnectionSerializerBase,
    ConnectionSettingsSerializer,
    ConnectionViewSetBase,
    ConnectViewBase,
    SourceRowFilterBase,
    SourceRowSerializerBase,
    SourceRowViewSetBase,
    SyncRunViewSetBase,
    connect_schemas,
    connection_action_schemas,
    signing_secret_field,
)
from integrations.pos import selectors
from integrations.pos.models import POSConnection, POSTransaction

# --- Serializers ---------------------------------------------------------------------------------


class ConnectionSerializer(ConnectionSerializerBase):
    signing_secret = signing_secret_field(
        help_text="The webhook signature key from the platform's console. Write-only."
    )
    settings = ConnectionSettingsSerializer(source="connection_settings", required=False)
    notification_url = serializers.URLField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="The URL exactly as configured at the platform: it is what Square signs. "
        "Blank: the URL the deliveries arrive at.",
    )

    class Meta:
        model = POSConnection
        fields = [
            "id",
            "platform",
            "location_name",
            "account_id",
            "external_location_id",
            "is_active",
            "is_sandbox",
            "health",
            "last_error",
            "last_sync_at",
            "token_expires_at",
            "webhook_url",
            "notification_url",
            "signing_secret",
            "has_signing_secret",
            "settings",
            "sync_every_minutes",
            "created_at",
        ]
        read_only_fields = CONNECTION_READ_ONLY_FIELDS
        # How often a platform that can be polled is (0: never); nothing for one that cannot.
        extra_kwargs = {"sync_every_minutes": {"max_value": 1440}}


class ConnectAnswerSerializer(serializers.Serializer):
    authorize_url = serializers.URLField(
        required=False, help_text="Send the user here to grant access (OAuth)."
    )
    connection = ConnectionSerializer(required=False)


class TransactionSerializer(SourceRowSerializerBase):
    external_id = serializers.CharField(source="external_transaction_id", read_only=True)

    class Meta:
        model = POSTransaction
        fields = [
            "id",
            "connection",
            "platform",
            "external_id",
            "external_transaction_id",
            "kind",
            "status",
            "currency",
            "transaction_amount",
            "tax_amount",
            "transaction_timestamp",
            "external_location_id",
            "original_external_id",
            "invoice",
            "invoice_status",
            "irn",
            "invoice_generated",
            "invoice_transmitted",
            "received_at",
            "invoiced_at",
            "signed_at",
            "processing_errors",
        ]
        read_only_fields = fields


class TransactionDetailSerializer(TransactionSerializer):
    class Meta(TransactionSerializer.Meta):
        fields = [*TransactionSerializer.Meta.fields, "items", "customer_data"]
        read_only_fields = fields


# --- Views --------------------------------------------------------------------------------------


@extend_schema_view(**connect_schemas(ConnectAnswerSerializer))
class ConnectView(ConnectViewBase):
    family = "pos"
    connection_serializer_class = ConnectionSerializer


@extend_schema_view(
    **connection_action_schemas(ConnectionSerializer),
    backfill=extend_schema(
        description="Pull the completed sales of a date range on the batch queue; follow the "
        "sync run."
    ),
)
class ConnectionViewSet(ConnectionViewSetBase):
    """The organization's POS connections. Secrets are write-only and never answered."""

    family_selectors = selectors
    serializer_class = ConnectionSerializer
    queryset = POSConnection.objects.none()


class TransactionFilter(SourceRowFilterBase):
    platform = filters.CharFilter(field_name="connection__pos_type")
    location = filters.CharFilter(field_name="external_location_id")
    transaction_timestamp = filters.IsoDateTimeFromToRangeFilter(
        help_text="transaction_timestamp_after / transaction_timestamp_before"
    )

    class Meta:
        model = POSTransaction
        fields = ["status", "kind", "connection", "external_transaction_id"]


@extend_schema_view(
    retry=extend_schema(
        description="Invoice a failed transaction again, or re-drive its invoice if that needs "
        "attention.",
        responses={202: TransactionDetailSerializer},
    )
)
class TransactionViewSet(SourceRowViewSetBase):
    """The organization's POS sales and refunds, newest first, each with its invoice."""

    serializer_class = TransactionSerializer
    detail_serializer_class = TransactionDetailSerializer
    filterset_class = TransactionFilter
    queryset = POSTransaction.objects.none()
    nothing_to_retry = "Nothing to retry: its invoice is on its way or done."

    def organization_queryset(self):
        return selectors.transaction_list(organization=self.organization)

    def source_row_retry(self, row, *, actor) -> bool:
        return pipeline.source_retry(row=row, actor=actor)


class SyncRunViewSet(SyncRunViewSetBase):
    """Back-fills and syncs of the organization's POS connections, newest first."""

    family_selectors = selectors
