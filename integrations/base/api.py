"""API pieces every family's integration API shares: role permissions, the connect request,
sync runs and back-fill windows, and error shapes."""

from rest_framework import exceptions, permissions, serializers, status

from accounts.selectors import membership_get
from integrations.base.models import SyncRun
from taxpoynt.api import CursorPagination


class ConnectRequestSerializer(serializers.Serializer):
    sandbox = serializers.BooleanField(
        default=False,
        help_text="Connect a fresh account in our sandbox of the platform, without OAuth.",
    )
    sandbox_oauth = serializers.BooleanField(
        default=False, help_text="Run the OAuth flow against our sandbox of the platform."
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
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()

    def validate(self, data):
        if data["start"] >= data["end"]:
            raise serializers.ValidationError("start must be before end.")
        return data


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


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


class BadGateway(exceptions.APIException):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = "platform_error"


class SyncRunPagination(CursorPagination):
    ordering = ("-created_at", "-id")
