"""Tenant API for POS: connect, connections (settings, test, back-fill, disconnect),
transactions and sync runs. Every lookup is scoped to the caller's organization inside the query:
another tenant's object answers 404 exactly like a missing one."""

from django.db.models import Q
from django.urls import reverse
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.base import connections as connection_services
from integrations.base import registry
from integrations.base.api import (
    BackfillRequestSerializer,
    BadGateway,
    CanManageConnections,
    CanOperate,
    ConnectRequestSerializer,
    ErrorSerializer,
    SyncRunPagination,
    SyncRunSerializer,
)
from integrations.base.errors import ConnectorError
from integrations.base.models import SyncRun
from integrations.pos import selectors, services
from integrations.pos.models import POSConnection, POSTransaction
from invoices.api import ORGANIZATION_HEADER
from invoices.models import Invoice
from taxpoynt.api import CursorPagination, OrganizationContextMixin

# --- Serializers ---------------------------------------------------------------------------------


class ConnectionSettingsSerializer(serializers.Serializer):
    default_hs_code = serializers.RegexField(
        r"^[0-9A-Za-z.\-]{0,20}$",
        required=False,
        allow_blank=True,
        help_text="HS or service code put on every line (POS platforms have none).",
    )
    default_product_category = serializers.CharField(
        max_length=100, required=False, allow_blank=True
    )


class ConnectionSerializer(serializers.ModelSerializer):
    platform = serializers.CharField(source="pos_type", read_only=True)
    signing_secret = serializers.CharField(
        source="webhook_secret",
        write_only=True,
        required=False,
        allow_blank=False,
        max_length=500,
        trim_whitespace=True,
        help_text="The webhook signature key from the platform's console. Write-only.",
    )
    has_signing_secret = serializers.SerializerMethodField()
    settings = ConnectionSettingsSerializer(source="connection_settings", required=False)
    notification_url = serializers.URLField(
        required=False,
        max_length=500,
        help_text="The URL exactly as configured at the platform: it is what Square signs.",
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
            "created_at",
        ]
        read_only_fields = [
            "id",
            "platform",
            "account_id",
            "is_active",
            "is_sandbox",
            "health",
            "last_error",
            "last_sync_at",
            "token_expires_at",
            "webhook_url",
            "created_at",
        ]

    def get_has_signing_secret(self, connection) -> bool:
        return bool(connection.webhook_secret)

    def update(self, instance, validated_data):
        settings = validated_data.pop("connection_settings", None)
        if settings is not None:
            validated_data["connection_settings"] = {
                **(instance.connection_settings or {}),
                **settings,
            }
        return super().update(instance, validated_data)


class ConnectAnswerSerializer(serializers.Serializer):
    authorize_url = serializers.URLField(
        required=False, help_text="Send the user here to grant access (OAuth)."
    )
    connection = ConnectionSerializer(required=False)


class TransactionSerializer(serializers.ModelSerializer):
    platform = serializers.CharField(source="connection.pos_type", read_only=True)
    external_id = serializers.CharField(source="external_transaction_id", read_only=True)
    invoice = serializers.PrimaryKeyRelatedField(read_only=True)
    invoice_status = serializers.CharField(
        source="invoice.status", read_only=True, default=None, allow_null=True
    )
    irn = serializers.CharField(source="invoice.irn", read_only=True, default=None, allow_null=True)

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


@extend_schema(parameters=[ORGANIZATION_HEADER])
class ConnectView(OrganizationContextMixin, APIView):
    permission_classes = [permissions.IsAuthenticated, CanManageConnections]

    @extend_schema(
        request=ConnectRequestSerializer,
        responses={
            200: ConnectAnswerSerializer,
            201: ConnectAnswerSerializer,
            400: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def post(self, request, platform: str):
        """Start connecting a POS platform. With ``sandbox`` the connection is made at once to a
        fresh sandbox account (201); otherwise the answer is the platform's authorize URL, with a
        one-time state bound to this browser session, organization and platform (200)."""
        try:
            connector = registry.get(platform)
        except KeyError:
            raise exceptions.NotFound(f"No POS platform {platform!r}.") from None
        if connector.family != "pos":
            raise exceptions.NotFound(f"No POS platform {platform!r}.")
        choice = ConnectRequestSerializer(data=request.data)
        choice.is_valid(raise_exception=True)
        site_url = request.build_absolute_uri("/").rstrip("/")
        try:
            if choice.validated_data["sandbox"]:
                connection = connection_services.connection_sandbox_create(
                    family="pos",
                    platform=platform,
                    organization=self.organization,
                    user=request.user,
                    site_url=site_url,
                )
                return Response(
                    {"connection": ConnectionSerializer(connection).data},
                    status=status.HTTP_201_CREATED,
                )
            if request.session.session_key is None:
                request.session.save()
            authorize_url = connection_services.oauth_start(
                family="pos",
                platform=platform,
                organization=self.organization,
                user=request.user,
                session_key=request.session.session_key,
                redirect_uri=request.build_absolute_uri(
                    reverse("oauth-callback", kwargs={"family": "pos", "platform": platform})
                ),
                sandbox_base_url=(
                    connection_services.sandbox_base_url(site_url=site_url, platform=platform)
                    if choice.validated_data["sandbox_oauth"]
                    else ""
                ),
            )
        except connection_services.ConnectError as error:
            raise exceptions.ValidationError({"detail": str(error)}) from None
        return Response({"authorize_url": authorize_url})


@extend_schema(parameters=[ORGANIZATION_HEADER])
class ConnectionViewSet(
    OrganizationContextMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The organization's POS connections. Secrets are write-only and never answered."""

    serializer_class = ConnectionSerializer
    queryset = POSConnection.objects.none()
    http_method_names = ["get", "patch", "post", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.connection_list(organization=self.organization)

    def get_permissions(self):
        if self.action in ("partial_update", "update", "disconnect"):
            return [permissions.IsAuthenticated(), CanManageConnections()]
        if self.action in ("test", "backfill"):
            return [permissions.IsAuthenticated(), CanOperate()]
        return super().get_permissions()

    @extend_schema(
        request=None,
        responses={200: ConnectionSerializer, 502: ErrorSerializer, 404: ErrorSerializer},
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """One cheap authenticated call to the platform; the outcome becomes the health."""
        connection = self.get_object()
        try:
            services.connection_test(connection=connection)
        except ConnectorError as error:
            raise BadGateway(f"The platform answered: {error}") from None
        connection.refresh_from_db()
        return Response(self.get_serializer(connection).data)

    @extend_schema(
        request=BackfillRequestSerializer,
        responses={202: SyncRunSerializer, 400: ErrorSerializer, 404: ErrorSerializer},
    )
    @action(detail=True, methods=["post"])
    def backfill(self, request, pk=None):
        """Pull the completed sales of a date range on the batch queue; follow the sync run."""
        connection = self.get_object()
        window = BackfillRequestSerializer(data=request.data)
        window.is_valid(raise_exception=True)
        run = services.backfill_start(connection=connection, **window.validated_data)
        return Response(SyncRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: ConnectionSerializer, 404: ErrorSerializer})
    @action(detail=True, methods=["post"])
    def disconnect(self, request, pk=None):
        """Revoke the grant at the platform, forget the tokens and stop processing."""
        connection = self.get_object()
        connection_services.connection_disconnect(connection=connection)
        connection.refresh_from_db()
        return Response(self.get_serializer(connection).data)


class TransactionFilter(filters.FilterSet):
    platform = filters.CharFilter(field_name="connection__pos_type")
    location = filters.CharFilter(field_name="external_location_id")
    transaction_timestamp = filters.IsoDateTimeFromToRangeFilter(
        help_text="transaction_timestamp_after / transaction_timestamp_before"
    )
    invoiced = filters.BooleanFilter(field_name="invoice", lookup_expr="isnull", exclude=True)
    failed = filters.BooleanFilter(
        method="filter_failed",
        help_text="Failed: no invoice could be made, or its invoice needs attention.",
    )

    class Meta:
        model = POSTransaction
        fields = ["status", "kind", "connection", "external_transaction_id"]

    def filter_failed(self, queryset, name, value):
        failed = Q(status=POSTransaction.Status.FAILED) | Q(
            invoice__status=Invoice.Status.NEEDS_ATTENTION
        )
        return queryset.filter(failed) if value else queryset.exclude(failed)


class TransactionPagination(CursorPagination):
    ordering = ("-received_at", "-id")


@extend_schema(parameters=[ORGANIZATION_HEADER])
class TransactionViewSet(
    OrganizationContextMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The organization's POS sales and refunds, newest first, each with its invoice."""

    filterset_class = TransactionFilter
    pagination_class = TransactionPagination
    queryset = POSTransaction.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.transaction_list(organization=self.organization)

    def get_serializer_class(self):
        return TransactionSerializer if self.action == "list" else TransactionDetailSerializer

    def get_permissions(self):
        if self.action == "retry":
            return [permissions.IsAuthenticated(), CanOperate()]
        return super().get_permissions()

    @extend_schema(
        request=None,
        responses={
            202: TransactionDetailSerializer,
            404: ErrorSerializer,
            409: inline_serializer("RetryConflict", {"detail": serializers.CharField()}),
        },
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """Invoice a failed transaction again, or re-drive its invoice if that needs attention."""
        row = self.get_object()
        if not services.transaction_retry(transaction_row=row):
            return Response(
                {"detail": "Nothing to retry: its invoice is on its way or done."},
                status=status.HTTP_409_CONFLICT,
            )
        row.refresh_from_db()
        return Response(self.get_serializer(row).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(parameters=[ORGANIZATION_HEADER])
class SyncRunViewSet(
    OrganizationContextMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Back-fills and syncs of the organization's POS connections, newest first."""

    serializer_class = SyncRunSerializer
    pagination_class = SyncRunPagination
    queryset = SyncRun.objects.none()
    filterset_fields = ["connection_id", "status", "kind"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.sync_run_list(organization=self.organization)
