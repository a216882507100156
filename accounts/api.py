from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.models import Invitation, Membership, Organization
from taxpoynt.api import ErrorSerializer


class OrganizationSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Organization
        fields = [
            "id",
            "public_id",
            "legal_name",
            "tin",
            "firs_business_id",
            "firs_service_id",
            "contact_email",
            "telephone",
            "street_name",
            "city_name",
            "postal_zone",
            "state",
            "country",
            "role",
        ]
        read_only_fields = fields

    def get_role(self, organization) -> str | None:
        membership = selectors.membership_get(
            user=self.context["request"].user, organization=organization
        )
        return membership.role if membership else None


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "username", "email", "role", "created_at"]
        read_only_fields = fields


class InvitationSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=Invitation.Status.choices, read_only=True)
    invited_by = serializers.CharField(
        source="invited_by.username",
        read_only=True,
        allow_null=True,
        help_text="The inviter's username; null once their account is gone.",
    )

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "role",
            "status",
            "invited_by",
            "created_at",
            "expires_at",
            "accepted_at",
            "revoked_at",
        ]
        read_only_fields = fields


class InvitationCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=Membership.Role.choices, default=Membership.Role.MEMBER)


class InvitationCreateErrorSerializer(serializers.Serializer):
    """A refused invitation: the fields at fault, each with its messages."""

    email = serializers.ListField(child=serializers.CharField(), required=False)
    role = serializers.ListField(child=serializers.CharField(), required=False)
    detail = serializers.CharField(required=False)


class InvitationAcceptSerializer(serializers.Serializer):
    token = serializers.CharField(
        min_length=1, max_length=128, help_text="The token at the end of the link."
    )


class InvitationAcceptErrorSerializer(serializers.Serializer):
    token = serializers.ListField(child=serializers.CharField(), required=False)
    detail = serializers.CharField(required=False)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class Gone(exceptions.APIException):
    status_code = status.HTTP_410_GONE
    default_code = "gone"


class MailUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "mail_unavailable"


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


NOT_YOURS = _error("No such organization among the caller's (or no such object in it).")
MANAGERS_ONLY = _error("Only owners and admins manage members and invitations.")


@extend_schema_view(retrieve=extend_schema(responses={200: OrganizationSerializer, 404: NOT_YOURS}))
class OrganizationViewSet(viewsets.ReadOnlyModelViewSet):
    """The organizations the caller belongs to."""

    serializer_class = OrganizationSerializer
    lookup_value_regex = r"\d+"
    # For the schema generator only; requests always go through get_queryset.
    queryset = Organization.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.organization_list_for_user(user=self.request.user).order_by("id")

    @extend_schema(request=None, responses={200: OrganizationSerializer, 404: NOT_YOURS})
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        """Make this the working organization of the caller's session (pages and session API)."""
        try:
            organization = services.current_organization_set(
                session=request.session, user=request.user, organization_id=int(pk)
            )
        except Organization.DoesNotExist as exc:
            raise Http404 from exc
        return Response(self.get_serializer(organization).data)


class _OrganizationScopedViewSet(viewsets.GenericViewSet):
    """A viewset under /organizations/<organization_pk>/: another tenant's answers 404."""

    lookup_value_regex = r"\d+"

    def get_organization(self) -> Organization:
        try:
            return selectors.organization_get_for_user(
                user=self.request.user, organization_id=self.kwargs["organization_pk"]
            )
        except (Organization.DoesNotExist, ValueError) as exc:
            raise Http404 from exc


@extend_schema_view(
    list=extend_schema(responses={200: MembershipSerializer, 404: NOT_YOURS}),
    retrieve=extend_schema(responses={200: MembershipSerializer, 404: NOT_YOURS}),
    destroy=extend_schema(
        responses={
            204: None,
            400: _error("An organization keeps at least one owner."),
            403: _error("Only owners and admins remove members; only owners remove owners."),
            404: NOT_YOURS,
        }
    ),
)
class MemberViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    _OrganizationScopedViewSet,
):
    """Members of one of the caller's organizations; owners and admins remove them. People join
    by accepting an invitation (see invitations)."""

    serializer_class = MembershipSerializer
    queryset = Membership.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.membership_list(organization=self.get_organization()).order_by("id")

    def destroy(self, request, organization_pk=None, pk=None):
        organization = self.get_organization()
        try:
            services.membership_remove(
                organization=organization, actor=request.user, membership_id=int(pk)
            )
        except DjangoPermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from exc
        except DjangoValidationError as exc:  # the last owner
            raise exceptions.ValidationError({"detail": " ".join(exc.messages)}) from exc
        except Membership.DoesNotExist as exc:
            raise Http404 from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(responses={200: InvitationSerializer, 403: MANAGERS_ONLY, 404: NOT_YOURS}),
    retrieve=extend_schema(
        responses={200: InvitationSerializer, 403: MANAGERS_ONLY, 404: NOT_YOURS}
    ),
)
class InvitationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, _OrganizationScopedViewSet
):
    """Invitations to one of the caller's organizations, newest first; owners and admins invite
    by e-mail and revoke. The answer to an invitation is the same whether the address has an
    account or not."""

    serializer_class = InvitationSerializer
    queryset = Invitation.objects.none()

    def get_organization(self) -> Organization:
        organization = super().get_organization()
        membership = selectors.membership_get(user=self.request.user, organization=organization)
        if not membership.can_manage:
            raise exceptions.PermissionDenied("Only owners and admins manage invitations.")
        return organization

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.invitation_list(organization=self.get_organization())

    @extend_schema(
        request=InvitationCreateSerializer,
        responses={
            201: InvitationSerializer,
            400: OpenApiResponse(InvitationCreateErrorSerializer, description="Bad input."),
            403: _error("Only owners and admins invite; only owners invite owners."),
            404: NOT_YOURS,
            503: _error("The invitation e-mail could not be sent; nothing was saved."),
        },
    )
    def create(self, request, organization_pk=None):
        """Invite an e-mail address; the link is e-mailed to it and is good for 7 days.

        Inviting an address again replaces its open invitation."""
        organization = self.get_organization()
        payload = InvitationCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            invitation = services.invitation_create(
                organization=organization,
                actor=request.user,
                email=payload.validated_data["email"],
                role=payload.validated_data["role"],
                site_url=request.build_absolute_uri("/"),
            )
        except DjangoPermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from exc
        except DjangoValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict) from exc
        except services.InvitationNotSent as exc:
            raise MailUnavailable(str(exc)) from exc
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={
            200: InvitationSerializer,
            403: _error("Only owners and admins revoke; only owners revoke owner invitations."),
            404: NOT_YOURS,
            409: _error("The invitation is no longer pending (accepted, revoked or expired)."),
        },
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, organization_pk=None, pk=None):
        """Withdraw a pending invitation: its link stops working."""
        organization = self.get_organization()
        try:
            invitation = services.invitation_revoke(
                organization=organization, actor=request.user, invitation_id=int(pk)
            )
        except DjangoPermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from exc
        except Invitation.DoesNotExist as exc:
            raise Http404 from exc
        except services.InvitationClosed as exc:
            raise Conflict(str(exc)) from exc
        return Response(InvitationSerializer(invitation).data)


class InvitationAcceptView(APIView):
    """Accept an invitation as the signed-in user, whose e-mail must be the invited address."""

    @extend_schema(
        request=InvitationAcceptSerializer,
        responses={
            201: OrganizationSerializer,
            400: OpenApiResponse(InvitationAcceptErrorSerializer, description="Bad input."),
            403: _error("The invitation is for another e-mail address than the caller's."),
            404: _error("No invitation has this token."),
            409: _error("The caller is already a member of the organization."),
            410: _error("The invitation has expired, was revoked or was already used."),
        },
    )
    def post(self, request):
        payload = InvitationAcceptSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            invitation = selectors.invitation_get_by_token(token=payload.validated_data["token"])
            membership = services.invitation_accept(invitation=invitation, user=request.user)
        except Invitation.DoesNotExist as exc:
            raise exceptions.NotFound("No invitation has this token.") from exc
        except services.InvitationForAnotherUser as exc:
            raise exceptions.PermissionDenied(str(exc)) from exc
        except services.InvitationAlreadyMember as exc:
            raise Conflict(str(exc)) from exc
        except services.InvitationClosed as exc:
            raise Gone(str(exc)) from exc
        organization = membership.organization
        return Response(
            OrganizationSerializer(organization, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )
