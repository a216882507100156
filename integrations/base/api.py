"""API pieces every family's integration API shares: role permissions, the connect request,
sync runs and back-fill windows, the answers to a platform's failures, and the connect,
connection, source-row and sync-run views a family parameterises with its models, serializers,
selectors and services."""

from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.urls import reverse
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import membership_get
from catalog import services as catalog_services
from integrations.base import connections as connection_services
from integrations.base import pipeline, registry, sandbox_accounts
from integrations.base.connectors import CredentialsConnector
from integrations.base.errors import AuthenticationError, ConnectorError, RateLimited
from integrations.base.models import SyncRun
from invoices.models import Invoice
from taxpoynt.api import (
    Conflict,
    DateTimeField,
    OrganizationContextMixin,
    ServiceUnavailable,
    declares_errors,
)
from taxpoynt.pagination import CursorPagination


class ConnectRequestSerializer(serializers.Serializer):
    sandbox = serializers.BooleanField(
        default=False,
        help_text="Connect a fresh account in our sandbox of the platform, without OAuth.",
    )
    sandbox_oauth = serializers.BooleanField(
        default=False, help_text="Run the OAuth flow against our sandbox of the platform."
    )
    login_host = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text=(
            "For a platform whose accounts sign in on a host of their choosing (Salesforce: "
            "https://test.salesforce.com or the org's My Domain): that login host."
        ),
    )
    credentials = serializers.DictField(
        child=serializers.CharField(
            max_length=connection_services.CREDENTIAL_MAX_LENGTH, allow_blank=True
        ),
        required=False,
        help_text=(
            "For a platform that connects with an API key or client credentials: its fields "
            "(name -> value). They are tried against the platform before they are stored, "
            "encrypted."
        ),
    )


class SyncRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = SyncRun
        fields = [
            "id",
            "platform",
            "connection_id",
            "kind",
            "status",
            "window_start",
            "window_end",
            "pages",
            "rows",
            "errors",
            "last_error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class BackfillRequestSerializer(serializers.Serializer):
    start = DateTimeField()
    end = DateTimeField()

    def validate(self, data):
        if data["start"] >= data["end"]:
            raise serializers.ValidationError("start must be before end.")
        return data


# The settings every family takes; a family with more subclasses it. (Comments, not docstrings,
# on these shared serializers: the schema would show a docstring on every family's component.)
class ConnectionSettingsSerializer(serializers.Serializer):
    default_hs_code = serializers.RegexField(
        r"^[0-9A-Za-z.\-]{1,20}$",
        required=False,
        allow_blank=True,
        help_text=(
            "Code put on a line whose item is not classified yet: an HS code on the FIRS list "
            "(1006.3000) or a four-digit ISIC service code (6202)."
        ),
    )
    default_product_category = serializers.CharField(
        max_length=100, required=False, allow_blank=True
    )

    def validate_default_hs_code(self, value):
        if not value:
            return value
        try:
            return catalog_services.line_code_clean(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None


# The connection columns every family's API answers but never takes.
CONNECTION_READ_ONLY_FIELDS = [
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


def signing_secret_field(*, help_text: str) -> serializers.CharField:
    """The platform's webhook signing secret: taken, never answered."""
    return serializers.CharField(
        source="webhook_secret",
        write_only=True,
        required=False,
        allow_blank=False,
        max_length=500,
        trim_whitespace=True,
        help_text=help_text,
    )


# What every family's connection serializer shares. Its ``settings`` are merged into the stored
# ones, so a PATCH of one setting keeps the others.
class ConnectionSerializerBase(serializers.ModelSerializer):
    platform = serializers.CharField(read_only=True)
    has_signing_secret = serializers.SerializerMethodField()

    def get_has_signing_secret(self, connection) -> bool:
        return bool(connection.webhook_secret)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        # A connection nobody configured yet (OAuth) stores no settings: none set, an object.
        if "settings" in data and data["settings"] is None:
            data["settings"] = {}
        return data

    def update(self, instance, validated_data):
        return connection_services.connection_settings_update(
            connection=instance, changes=validated_data, actor=self.context["request"].user
        )


# What every family's source row (POS transaction, CRM deal) answers about its invoice.
class SourceRowSerializerBase(serializers.ModelSerializer):
    platform = serializers.CharField(source="connection.platform", read_only=True)
    invoice = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    invoice_status = serializers.CharField(
        source="invoice.status", read_only=True, default=None, allow_null=True
    )
    irn = serializers.CharField(source="invoice.irn", read_only=True, default=None, allow_null=True)


# --- Permissions -------------------------------------------------------------------------------


class _RolePermission(permissions.BasePermission):
    role_check = ""

    def has_permission(self, request, view):
        membership = membership_get(user=request.user, organization=view.organization)
        return membership is not None and getattr(membership, self.role_check)


class CanManageConnections(_RolePermission):
    message = "Only owners and admins manage connections."
    role_check = "can_manage"


class CanOperate(_RolePermission):
    message = "Viewers cannot act on connections or transactions."
    role_check = "can_operate"


# --- A platform's failures ------------------------------------------------------------------


class PlatformCredentialsRefused(Conflict):
    default_detail = (
        "The platform refused this connection's stored credentials: re-authorise the "
        "connection (connect it again)."
    )
    default_code = "reauthorization_needed"


class PlatformUnavailable(ServiceUnavailable):
    default_detail = "The platform is not answering right now; try again later."
    default_code = "platform_unavailable"


class PlatformRefused(exceptions.APIException):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = "The platform refused the request."
    default_code = "platform_refused"


PLATFORM_ERRORS = (PlatformCredentialsRefused, PlatformUnavailable, PlatformRefused)


@contextmanager
def platform_errors():
    """A platform's failure during a synchronous call, as the API answers it: refused
    credentials are a 409 (the services have marked the connection for re-authorising), an
    outage or rate limit a 503 with Retry-After, anything else it refused a 502."""
    try:
        yield
    except AuthenticationError as error:
        raise PlatformCredentialsRefused(
            f"{PlatformCredentialsRefused.default_detail} ({error})"
        ) from None
    except ConnectorError as error:
        if error.permanent:
            raise PlatformRefused(f"The platform refused: {error}") from None
        raise PlatformUnavailable(
            f"The platform is not answering right now ({error}); try again later.",
            retry_after=error.retry_after if isinstance(error, RateLimited) else None,
        ) from None


class SyncRunPagination(CursorPagination):
    ordering = ("-created_at", "-id")


class SourceRowPagination(CursorPagination):
    ordering = ("-received_at", "-id")


class SourceRowFilterBase(filters.FilterSet):
    invoiced = filters.BooleanFilter(field_name="invoice", lookup_expr="isnull", exclude=True)
    failed = filters.BooleanFilter(
        method="filter_failed",
        help_text="Failed: no invoice could be made, or its invoice needs attention.",
    )

    def filter_failed(self, queryset, name, value):
        failed = Q(status=queryset.model.Status.FAILED) | Q(
            invoice__status=Invoice.Status.NEEDS_ATTENTION
        )
        return queryset.filter(failed) if value else queryset.exclude(failed)


# --- Views --------------------------------------------------------------------------------------


def connect_schemas(answer_serializer) -> dict:
    """For ``extend_schema_view``: the connect answer names the family's connection serializer."""
    return {"post": extend_schema(responses={200: answer_serializer, 201: answer_serializer})}


def connection_action_schemas(connection_serializer) -> dict:
    """For ``extend_schema_view``: the shared connection actions answer the family's connection."""
    return {
        "test": extend_schema(responses={200: connection_serializer}),
        "disconnect": extend_schema(responses={200: connection_serializer}),
    }


class ConnectViewBase(OrganizationContextMixin, APIView):
    """A family's connect endpoint: the family names itself and its connection serializer, and
    gives ``post`` its answers with ``connect_schemas``."""

    permission_classes = [permissions.IsAuthenticated, CanManageConnections]
    family = ""
    connection_serializer_class = None

    def sandbox_connection_create(self, **fields):
        return sandbox_accounts.connection_sandbox_create(family=self.family, **fields)

    @extend_schema(request=ConnectRequestSerializer)
    @declares_errors(PlatformUnavailable)
    def post(self, request, platform: str):
        """Start connecting one of the family's platforms. With ``sandbox`` the connection is made
        at once to a fresh sandbox account (201). A platform that connects with credentials takes
        them in ``credentials``: tried against the platform, then stored (201); 400 when they are
        incomplete or refused. Otherwise the answer is the platform's authorize URL, with a
        one-time state bound to this browser session, organization and platform (200)."""
        connector = self._platform_check(platform)
        choice = ConnectRequestSerializer(data=request.data)
        choice.is_valid(raise_exception=True)
        site_url = request.build_absolute_uri("/").rstrip("/")
        fields = {"platform": platform, "organization": self.organization, "user": request.user}
        try:
            if choice.validated_data["sandbox"]:
                connection = self.sandbox_connection_create(**fields, site_url=site_url)
            elif issubclass(connector, CredentialsConnector):
                connection = connection_services.connection_credentials_connect(
                    family=self.family,
                    **fields,
                    credentials=choice.validated_data.get("credentials", {}),
                    site_url=site_url,
                )
            else:
                return Response({"authorize_url": self._authorize_url(request, choice, platform)})
        except connection_services.PlatformUnreachable as error:
            raise PlatformUnavailable(str(error)) from None
        except connection_services.ConnectError as error:
            raise exceptions.ValidationError({"detail": str(error)}) from None
        return Response(
            {"connection": self.connection_serializer_class(connection).data},
            status=status.HTTP_201_CREATED,
        )

    def _authorize_url(self, request, choice, platform: str) -> str:
        if "credentials" in choice.validated_data:
            raise connection_services.ConnectError(
                "This platform connects through OAuth; it takes no credentials."
            )
        if request.session.session_key is None:
            request.session.save()
        site_url = request.build_absolute_uri("/").rstrip("/")
        return connection_services.oauth_start(
            family=self.family,
            platform=platform,
            organization=self.organization,
            user=request.user,
            session_key=request.session.session_key,
            redirect_uri=request.build_absolute_uri(
                reverse("oauth-callback", kwargs={"family": self.family, "platform": platform})
            ),
            sandbox_base_url=(
                self._sandbox_base_url(site_url=site_url, platform=platform)
                if choice.validated_data["sandbox_oauth"]
                else ""
            ),
            login_host=choice.validated_data.get("login_host", "").strip(),
        )

    def _sandbox_base_url(self, *, site_url: str, platform: str) -> str:
        if sandbox_accounts.provisioner_for(platform) is None:
            raise connection_services.ConnectError("No sandbox of that platform runs here.")
        return sandbox_accounts.sandbox_base_url(site_url=site_url, platform=platform)

    def _platform_check(self, platform: str) -> None:
        not_found = f"No {self.family.upper()} platform {platform!r}."
        try:
            connector = registry.get(platform)
        except KeyError:
            raise exceptions.NotFound(not_found) from None
        if connector.family != self.family:
            raise exceptions.NotFound(not_found)
        return connector


class _OrganizationViewSet(OrganizationContextMixin, viewsets.GenericViewSet):
    """Rows come from the family's selector, scoped to the caller's organization inside the
    query: another tenant's row answers 404 exactly like a missing one."""

    def get_queryset(self):
        # Schema generation has no organization; the (empty) queryset names the model.
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return self.organization_queryset()

    def organization_queryset(self):
        raise NotImplementedError


class ConnectionViewSetBase(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    _OrganizationViewSet,
):
    """A family's connections: settings, test, back-fill, disconnect. The family gives its
    ``family_selectors`` module, its serializer and model, and the
    schemas of ``connection_action_schemas`` plus the back-fill's description."""

    family_selectors = None
    http_method_names = ["get", "patch", "post", "head", "options"]

    def organization_queryset(self):
        return self.family_selectors.connection_list(organization=self.organization)

    def get_permissions(self):
        if self.action in ("partial_update", "update", "disconnect"):
            return [permissions.IsAuthenticated(), CanManageConnections()]
        if self.action in ("test", "backfill"):
            return [permissions.IsAuthenticated(), CanOperate()]
        return super().get_permissions()

    @extend_schema(request=None)
    @declares_errors(*PLATFORM_ERRORS)
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """One cheap authenticated call to the platform; the outcome becomes the health
        (``needs_reauth`` when the platform refuses the stored credentials: answered 409)."""
        connection = self.get_object()
        with platform_errors():
            pipeline.connection_test(connection=connection)
        connection.refresh_from_db()
        return Response(self.get_serializer(connection).data)

    @extend_schema(request=BackfillRequestSerializer, responses={202: SyncRunSerializer})
    @action(detail=True, methods=["post"])
    def backfill(self, request, pk=None):
        connection = self.get_object()
        window = BackfillRequestSerializer(data=request.data)
        window.is_valid(raise_exception=True)
        run = pipeline.backfill_start(connection=connection, **window.validated_data)
        return Response(SyncRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def disconnect(self, request, pk=None):
        """Revoke the grant at the platform, forget the tokens and stop processing."""
        connection = self.get_object()
        connection_services.connection_disconnect(connection=connection, actor=request.user)
        connection.refresh_from_db()
        return Response(self.get_serializer(connection).data)


class SourceRowViewSetBase(mixins.ListModelMixin, mixins.RetrieveModelMixin, _OrganizationViewSet):
    """A family's source rows, each with its invoice: the list answers ``serializer_class``, a row
    and a retry ``detail_serializer_class``. The family gives ``source_row_retry`` (False: nothing
    to retry, answered 409 with ``nothing_to_retry``) and the retry's description and answers."""

    detail_serializer_class = None
    pagination_class = SourceRowPagination
    nothing_to_retry = ""

    def get_serializer_class(self):
        return self.serializer_class if self.action == "list" else self.detail_serializer_class

    def get_permissions(self):
        if self.action == "retry":
            return [permissions.IsAuthenticated(), CanOperate()]
        return super().get_permissions()

    def source_row_retry(self, row, *, actor) -> bool:
        raise NotImplementedError

    @extend_schema(request=None)
    @declares_errors(Conflict)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        row = self.get_object()
        if not self.source_row_retry(row, actor=request.user):
            raise Conflict(self.nothing_to_retry)
        row.refresh_from_db()
        return Response(self.get_serializer(row).data, status=status.HTTP_202_ACCEPTED)


class SyncRunViewSetBase(mixins.ListModelMixin, mixins.RetrieveModelMixin, _OrganizationViewSet):
    """Back-fills and syncs of a family's connections, newest first, from its
    ``family_selectors``."""

    family_selectors = None
    serializer_class = SyncRunSerializer
    pagination_class = SyncRunPagination
    queryset = SyncRun.objects.none()
    filterset_fields = ["connection_id", "status", "kind"]

    def organization_queryset(self):
        return self.family_selectors.sync_run_list(organization=self.organization)
