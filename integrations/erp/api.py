"""Tenant API for ERP: connect, connections (settings, test, back-fill, disconnect), documents
and sync runs. Every lookup is scoped to the caller's organization inside the query: another
tenant's object answers 404 exactly like a missing one."""

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
from integrations.erp import selectors
from integrations.erp.models import ERPConnection, ERPDocument

# --- Serializers ---------------------------------------------------------------------------------


class ERPConnectionSerializer(ConnectionSerializerBase):
    signing_secret = signing_secret_field(
        help_text="The key the ERP signs its webhooks with, when it sends any. Write-only."
    )
    settings = ConnectionSettingsSerializer(source="connection_settings", required=False)

    class Meta:
        model = ERPConnection
        fields = [
            "id",
            "platform",
            "connection_name",
            "account_id",
            "is_active",
            "is_sandbox",
            "health",
            "last_error",
            "last_sync_at",
            "token_expires_at",
            "webhook_url",
            "signing_secret",
            "has_signing_secret",
            "sync_every_minutes",
            "settings",
            "created_at",
        ]
        read_only_fields = CONNECTION_READ_ONLY_FIELDS
        extra_kwargs = {"sync_every_minutes": {"max_value": 1440}}


class ERPConnectAnswerSerializer(serializers.Serializer):
    authorize_url = serializers.URLField(
        required=False, help_text="Send the user here to grant access (OAuth)."
    )
    connection = ERPConnectionSerializer(required=False)


class DocumentSerializer(SourceRowSerializerBase):
    external_id = serializers.CharField(source="external_document_id", read_only=True)

    class Meta:
        model = ERPDocument
        fields = [
            "id",
            "connection",
            "platform",
            "external_id",
            "external_document_id",
            "document_number",
            "document_kind",
            "original_external_id",
            "is_posted",
            "document_state",
            "total_amount",
            "tax_amount",
            "currency",
            "buyer_name",
            "buyer_tin",
            "document_date",
            "last_modified_at",
            "status",
            "invoice",
            "invoice_status",
            "irn",
            "invoice_generated",
            "received_at",
            "invoiced_at",
            "signed_at",
            "processing_errors",
            "irn_written_at",
            "irn_write_back_error",
            "paid_in_erp_at",
            "payment_report_error",
        ]
        read_only_fields = fields


class DocumentDetailSerializer(DocumentSerializer):
    class Meta(DocumentSerializer.Meta):
        fields = [*DocumentSerializer.Meta.fields, "line_items", "taxes", "customer_data"]
        read_only_fields = fields


# --- Views --------------------------------------------------------------------------------------


@extend_schema_view(**connect_schemas(ERPConnectAnswerSerializer))
class ConnectView(ConnectViewBase):
    family = "erp"
    connection_serializer_class = ERPConnectionSerializer


@extend_schema_view(
    **connection_action_schemas(ERPConnectionSerializer),
    backfill=extend_schema(
        description="Pull the documents changed in a date range on the batch queue; follow the "
        "sync run."
    ),
)
class ConnectionViewSet(ConnectionViewSetBase):
    """The organization's ERP connections. Secrets are write-only and never answered."""

    family_selectors = selectors
    serializer_class = ERPConnectionSerializer
    queryset = ERPConnection.objects.none()


class DocumentFilter(SourceRowFilterBase):
    platform = filters.CharFilter(field_name="connection__erp_type")
    kind = filters.ChoiceFilter(field_name="document_kind", choices=ERPDocument.Kind.choices)
    posted = filters.BooleanFilter(field_name="is_posted")
    number = filters.CharFilter(field_name="document_number")
    received_at = filters.IsoDateTimeFromToRangeFilter(
        help_text="received_at_after / received_at_before"
    )
    document_date = filters.IsoDateTimeFromToRangeFilter(
        help_text="document_date_after / document_date_before"
    )

    class Meta:
        model = ERPDocument
        fields = ["status", "connection", "external_document_id"]


@extend_schema_view(
    retry=extend_schema(
        description="Invoice a posted document that has none yet, or re-drive its invoice if "
        "that needs attention.",
        responses={202: DocumentDetailSerializer},
    )
)
class DocumentViewSet(SourceRowViewSetBase):
    """The organization's ERP documents, newest first, each with its invoice."""

    serializer_class = DocumentSerializer
    detail_serializer_class = DocumentDetailSerializer
    filterset_class = DocumentFilter
    queryset = ERPDocument.objects.none()
    nothing_to_retry = "Nothing to retry: not posted, or its invoice is on its way or done."

    def organization_queryset(self):
        return selectors.document_list(organization=self.organization)

    def source_row_retry(self, row, *, actor) -> bool:
        return pipeline.source_retry(row=row, actor=actor)


class SyncRunViewSet(SyncRunViewSetBase):
    """Back-fills and syncs of the organization's ERP connections, newest first."""

    family_selectors = selectors
