"""Tenant API for CRM: connect, connections (settings, won stages, pipelines, test, back-fill,
disconnect), deals and sync runs. Every lookup is scoped to the caller's organization inside the
query: another tenant's object answers 404 exactly like a missing one."""

from django.db.models import Q
from django.urls import reverse
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
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
from integrations.crm import selectors, services
from integrations.crm.models import CRMConnection, CRMDeal
from invoices.api import ORGANIZATION_HEADER
from invoices.models import Invoice
from taxpoynt.api import CursorPagination, OrganizationContextMixin

# --- Serializers ---------------------------------------------------------------------------------


class CRMConnectionSettingsSerializer(serializers.Serializer):
    default_hs_code = serializers.RegexField(
        r"^[0-9A-Za-z.\-]{0,20}$",
        required=False,
        allow_blank=True,
        help_text="HS or service code put on every line (CRMs have none).",
    )
    default_product_category = serializers.CharField(
        max_length=100, required=False, allow_blank=True
    )
    default_currency = serializers.RegexField(
        r"^[A-Z]{3}$",
        required=False,
        help_text="ISO 4217 currency of deals that name none (the account's default).",
    )


class CRMConnectionSerializer(serializers.ModelSerializer):
    platform = serializers.CharField(source="crm_type", read_only=True)
    signing_secret = serializers.CharField(
        source="webhook_secret",
        write_only=True,
        required=False,
        allow_blank=False,
        max_length=500,
        trim_whitespace=True,
        help_text="The client secret of the app that sends the webhooks (it signs them). "
        "Write-only.",
    )
    has_signing_secret = serializers.SerializerMethodField()
    settings = CRMConnectionSettingsSerializer(source="connection_settings", required=False)
    notification_url = serializers.URLField(
        required=False,
        max_length=500,
        help_text="The webhook URL exactly as configured at the platform: it is what HubSpot "
        "signs.",
    )
    won_stage_ids = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        max_length=100,
        help_text="Stage ids that mean won (see pipelines/). Empty: the platform's own "
        "closed-won stages.",
    )
    pipeline_ids = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        max_length=100,
        help_text="The pipelines whose deals are invoiced. Empty: every pipeline.",
    )
    tin_property = serializers.RegexField(
        r"^[a-z][a-z0-9_]{0,99}$",
        required=False,
        help_text="The company property that holds the buyer's TIN.",
    )

    class Meta:
        model = CRMConnection
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
            "notification_url",
            "signing_secret",
            "has_signing_secret",
            "won_stage_ids",
            "pipeline_ids",
            "tin_property",
            "sync_every_minutes",
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
        extra_kwargs = {"sync_every_minutes": {"max_value": 1440}}

    def get_has_signing_secret(self, connection) -> bool:
        return bool(connection.webhook_secret)

    def validate(self, data):
        if data.get("won_stage_ids") or data.get("pipeline_ids"):
            self._check_against_pipelines(
                won=data.get("won_stage_ids", self.instance.won_stage_ids),
                pipelines=data.get("pipeline_ids", self.instance.pipeline_ids),
            )
        return data

    def _check_against_pipelines(self, *, won: list[str], pipelines: list[str]) -> None:
        try:
            stages = services.connection_pipelines(connection=self.instance)
        except ConnectorError as error:
            raise BadGateway(f"The platform answered: {error}") from None
        problems = {}
        unknown_pipelines = sorted(set(pipelines) - {stage.pipeline_id for stage in stages})
        if unknown_pipelines:
            problems["pipeline_ids"] = f"Not pipelines of this account: {unknown_pipelines}"
        in_scope = {
            stage.stage_id for stage in stages if not pipelines or stage.pipeline_id in pipelines
        }
        unknown_stages = sorted(set(won) - in_scope)
        if unknown_stages:
            problems["won_stage_ids"] = (
                f"Not stages of this account's pipelines{' of interest' if pipelines else ''}: "
                f"{unknown_stages}"
            )
        if problems:
            raise serializers.ValidationError(problems)

    def update(self, instance, validated_data):
        settings = validated_data.pop("connection_settings", None)
        if settings is not None:
            validated_data["connection_settings"] = {
                **(instance.connection_settings or {}),
                **settings,
            }
        return super().update(instance, validated_data)


class CRMConnectAnswerSerializer(serializers.Serializer):
    authorize_url = serializers.URLField(
        required=False, help_text="Send the user here to grant access (OAuth)."
    )
    connection = CRMConnectionSerializer(required=False)


class PipelineStageSerializer(serializers.Serializer):
    pipeline_id = serializers.CharField()
    pipeline_label = serializers.CharField()
    stage_id = serializers.CharField()
    label = serializers.CharField()
    is_won = serializers.BooleanField(help_text="The platform closes deals in it as won.")
    is_chosen = serializers.BooleanField(help_text="Among this connection's won_stage_ids.")


class DealSerializer(serializers.ModelSerializer):
    platform = serializers.CharField(source="connection.crm_type", read_only=True)
    external_id = serializers.CharField(source="external_deal_id", read_only=True)
    invoice = serializers.PrimaryKeyRelatedField(read_only=True)
    invoice_status = serializers.CharField(
        source="invoice.status", read_only=True, default=None, allow_null=True
    )
    irn = serializers.CharField(source="invoice.irn", read_only=True, default=None, allow_null=True)

    class Meta:
        model = CRMDeal
        fields = [
            "id",
            "connection",
            "platform",
            "external_id",
            "external_deal_id",
            "deal_title",
            "deal_amount",
            "currency",
            "deal_stage",
            "pipeline_id",
            "is_won",
            "buyer_name",
            "buyer_tin",
            "expected_close_date",
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
        ]
        read_only_fields = fields


class DealDetailSerializer(DealSerializer):
    class Meta(DealSerializer.Meta):
        fields = [*DealSerializer.Meta.fields, "line_items", "customer_data"]
        read_only_fields = fields


# --- Views --------------------------------------------------------------------------------------


def _crm_platform(platform: str) -> None:
    try:
        connector = registry.get(platform)
    except KeyError:
        raise exceptions.NotFound(f"No CRM platform {platform!r}.") from None
    if connector.family != "crm":
        raise exceptions.NotFound(f"No CRM platform {platform!r}.")


@extend_schema(parameters=[ORGANIZATION_HEADER])
class ConnectView(OrganizationContextMixin, APIView):
    permission_classes = [permissions.IsAuthenticated, CanManageConnections]

    @extend_schema(
        request=ConnectRequestSerializer,
        responses={
            200: CRMConnectAnswerSerializer,
            201: CRMConnectAnswerSerializer,
            400: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def post(self, request, platform: str):
        """Start connecting a CRM. With ``sandbox`` the connection is made at once to a fresh
        sandbox account (201); otherwise the answer is the platform's authorize URL, with a
        one-time state bound to this browser session, organization and platform (200)."""
        _crm_platform(platform)
        choice = ConnectRequestSerializer(data=request.data)
        choice.is_valid(raise_exception=True)
        site_url = request.build_absolute_uri("/").rstrip("/")
        try:
            if choice.validated_data["sandbox"]:
                connection = services.connection_sandbox_create(
                    platform=platform,
                    organization=self.organization,
                    user=request.user,
                    site_url=site_url,
                )
                return Response(
                    {"connection": CRMConnectionSerializer(connection).data},
                    status=status.HTTP_201_CREATED,
                )
            if request.session.session_key is None:
                request.session.save()
            authorize_url = connection_services.oauth_start(
                family="crm",
                platform=platform,
                organization=self.organization,
                user=request.user,
                session_key=request.session.session_key,
                redirect_uri=request.build_absolute_uri(
                    reverse("oauth-callback", kwargs={"family": "crm", "platform": platform})
                ),
                sandbox_base_url=(
                    f"{site_url}/sandbox/{platform}"
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
    """The organization's CRM connections. Secrets are write-only and never answered."""

    serializer_class = CRMConnectionSerializer
    queryset = CRMConnection.objects.none()
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
        responses={
            200: PipelineStageSerializer(many=True),
            502: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def pipelines(self, request, pk=None):
        """Every stage of the account's deal pipelines, read from the platform now, marked with
        whether the platform closes it as won and whether this connection counts it as won."""
        connection = self.get_object()
        try:
            stages = services.connection_pipelines(connection=connection)
        except ConnectorError as error:
            raise BadGateway(f"The platform answered: {error}") from None
        chosen = set(connection.won_stage_ids)
        return Response(
            PipelineStageSerializer(
                [{**vars(stage), "is_chosen": stage.stage_id in chosen} for stage in stages],
                many=True,
            ).data
        )

    @extend_schema(
        request=None,
        responses={200: CRMConnectionSerializer, 502: ErrorSerializer, 404: ErrorSerializer},
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
        """Pull the won deals changed in a date range on the batch queue; follow the sync run."""
        connection = self.get_object()
        window = BackfillRequestSerializer(data=request.data)
        window.is_valid(raise_exception=True)
        run = services.backfill_start(connection=connection, **window.validated_data)
        return Response(SyncRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: CRMConnectionSerializer, 404: ErrorSerializer})
    @action(detail=True, methods=["post"])
    def disconnect(self, request, pk=None):
        """Revoke the grant at the platform, forget the tokens and stop processing."""
        connection = self.get_object()
        connection_services.connection_disconnect(connection=connection)
        connection.refresh_from_db()
        return Response(self.get_serializer(connection).data)


class DealFilter(filters.FilterSet):
    platform = filters.CharFilter(field_name="connection__crm_type")
    stage = filters.CharFilter(field_name="deal_stage")
    won = filters.BooleanFilter(field_name="is_won")
    invoiced = filters.BooleanFilter(field_name="invoice", lookup_expr="isnull", exclude=True)
    failed = filters.BooleanFilter(
        method="filter_failed",
        help_text="Failed: no invoice could be made, or its invoice needs attention.",
    )
    received_at = filters.IsoDateTimeFromToRangeFilter(
        help_text="received_at_after / received_at_before"
    )

    class Meta:
        model = CRMDeal
        fields = ["status", "connection", "external_deal_id"]

    def filter_failed(self, queryset, name, value):
        failed = Q(status=CRMDeal.Status.FAILED) | Q(invoice__status=Invoice.Status.NEEDS_ATTENTION)
        return queryset.filter(failed) if value else queryset.exclude(failed)


class DealPagination(CursorPagination):
    ordering = ("-received_at", "-id")


@extend_schema(parameters=[ORGANIZATION_HEADER])
class DealViewSet(
    OrganizationContextMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The organization's CRM deals, newest first, each with its invoice."""

    filterset_class = DealFilter
    pagination_class = DealPagination
    queryset = CRMDeal.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.deal_list(organization=self.organization)

    def get_serializer_class(self):
        return DealSerializer if self.action == "list" else DealDetailSerializer

    def get_permissions(self):
        if self.action == "retry":
            return [permissions.IsAuthenticated(), CanOperate()]
        return super().get_permissions()

    @extend_schema(
        request=None,
        responses={202: DealDetailSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """Invoice a won deal that has none yet, or re-drive its invoice if that needs
        attention."""
        row = self.get_object()
        if not services.deal_retry(deal_row=row):
            return Response(
                {"detail": "Nothing to retry: not won, or its invoice is on its way or done."},
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
    """Back-fills of the organization's CRM connections, newest first."""

    serializer_class = SyncRunSerializer
    pagination_class = SyncRunPagination
    queryset = SyncRun.objects.none()
    filterset_fields = ["connection_id", "status", "kind"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.sync_run_list(organization=self.organization)
