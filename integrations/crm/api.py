"""Tenant API for CRM: connect, connections (settings, won stages, pipelines, test, back-fill,
disconnect), deals and sync runs. Every lookup is scoped to the caller's organization inside the
query: another tenant's object answers 404 exactly like a missing one."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from integrations.base import pipeline
from integrations.base.api import (
    CONNECTION_READ_ONLY_FIELDS,
    PLATFORM_ERRORS,
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
    platform_errors,
    signing_secret_field,
)
from integrations.crm import selectors, services
from integrations.crm.models import CRMConnection, CRMDeal
from taxpoynt.api import declares_errors

# --- Serializers ---------------------------------------------------------------------------------


class CRMConnectionSettingsSerializer(ConnectionSettingsSerializer):
    default_currency = serializers.RegexField(
        r"^[A-Z]{3}$",
        required=False,
        help_text="ISO 4217 currency of deals that name none (the account's default).",
    )


class CRMConnectionSerializer(ConnectionSerializerBase):
    signing_secret = signing_secret_field(
        help_text="The client secret of the app that sends the webhooks (it signs them). "
        "Write-only."
    )
    settings = CRMConnectionSettingsSerializer(source="connection_settings", required=False)
    notification_url = serializers.URLField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="The webhook URL exactly as configured at the platform: it is what HubSpot "
        "signs. Blank: the URL the deliveries arrive at.",
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
        read_only_fields = CONNECTION_READ_ONLY_FIELDS
        extra_kwargs = {"sync_every_minutes": {"max_value": 1440}}

    def validate(self, data):
        if data.get("won_stage_ids") or data.get("pipeline_ids"):
            self._check_against_pipelines(
                won=data.get("won_stage_ids", self.instance.won_stage_ids),
                pipelines=data.get("pipeline_ids", self.instance.pipeline_ids),
            )
        return data

    def _check_against_pipelines(self, *, won: list[str], pipelines: list[str]) -> None:
        with platform_errors():
            stages = services.connection_pipelines(connection=self.instance)
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


class DealSerializer(SourceRowSerializerBase):
    external_id = serializers.CharField(source="external_deal_id", read_only=True)

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


@extend_schema_view(**connect_schemas(CRMConnectAnswerSerializer))
class ConnectView(ConnectViewBase):
    family = "crm"
    connection_serializer_class = CRMConnectionSerializer


@extend_schema_view(
    **connection_action_schemas(CRMConnectionSerializer),
    backfill=extend_schema(
        description="Pull the won deals changed in a date range on the batch queue; follow the "
        "sync run."
    ),
)
class ConnectionViewSet(ConnectionViewSetBase):
    """The organization's CRM connections. Secrets are write-only and never answered."""

    family_selectors = selectors
    serializer_class = CRMConnectionSerializer
    queryset = CRMConnection.objects.none()

    @declares_errors(*PLATFORM_ERRORS)
    def partial_update(self, request, *args, **kwargs):
        """Change the connection's settings; won stages and pipelines are checked against the
        account's pipelines, read from the platform now."""
        return super().partial_update(request, *args, **kwargs)

    @extend_schema(request=None, responses={200: PipelineStageSerializer(many=True)})
    @declares_errors(*PLATFORM_ERRORS)
    @action(detail=True, methods=["get"], pagination_class=None)
    def pipelines(self, request, pk=None):
        """Every stage of the account's deal pipelines, read from the platform now, marked with
        whether the platform closes it as won and whether this connection counts it as won."""
        connection = self.get_object()
        with platform_errors():
            stages = services.connection_pipelines(connection=connection)
        chosen = set(connection.won_stage_ids)
        return Response(
            PipelineStageSerializer(
                [{**vars(stage), "is_chosen": stage.stage_id in chosen} for stage in stages],
                many=True,
            ).data
        )


class DealFilter(SourceRowFilterBase):
    platform = filters.CharFilter(field_name="connection__crm_type")
    stage = filters.CharFilter(field_name="deal_stage")
    won = filters.BooleanFilter(field_name="is_won")
    received_at = filters.IsoDateTimeFromToRangeFilter(
        help_text="received_at_after / received_at_before"
    )

    class Meta:
        model = CRMDeal
        fields = ["status", "connection", "external_deal_id"]


@extend_schema_view(
    retry=extend_schema(
        description="Invoice a won deal that has none yet, or re-drive its invoice if that needs "
        "attention.",
        responses={202: DealDetailSerializer},
    )
)
class DealViewSet(SourceRowViewSetBase):
    """The organization's CRM deals, newest first, each with its invoice."""

    serializer_class = DealSerializer
    detail_serializer_class = DealDetailSerializer
    filterset_class = DealFilter
    queryset = CRMDeal.objects.none()
    nothing_to_retry = "Nothing to retry: not won, or its invoice is on its way or done."

    def organization_queryset(self):
        return selectors.deal_list(organization=self.organization)

    def source_row_retry(self, row, *, actor) -> bool:
        return pipeline.source_retry(row=row, actor=actor)


class SyncRunViewSet(SyncRunViewSetBase):
    """Back-fills of the organization's CRM connections, newest first."""

    family_selectors = selectors
