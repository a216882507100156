from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts import selectors, services
from accounts.models import Membership, Organization, User


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


class MembershipCreateSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Membership.Role.choices, default=Membership.Role.MEMBER)


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

    @extend_schema(request=None, responses={200: OrganizationSerializer})
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        """Make this the working organization of the caller's session (pages and session API)."""
        organization = _service_errors(
            lambda: services.current_organization_set(
                session=request.session, user=request.user, organization_id=int(pk)
            )
        )
        return Response(self.get_serializer(organization).data)


def _service_errors(func):
    """Turn the services' Django exceptions into API answers."""
    try:
        return func()
    except DjangoPermissionDenied as exc:
        raise exceptions.PermissionDenied(str(exc)) from exc
    except DjangoValidationError as exc:
        raise exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        ) from exc
    except (Membership.DoesNotExist, Organization.DoesNotExist) as exc:
        raise Http404 from exc


class MemberViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Members of one of the caller's organizations; owners and admins add and remove them."""

    serializer_class = MembershipSerializer
    lookup_value_regex = r"\d+"
    queryset = Membership.objects.none()

    def get_organization(self) -> Organization:
        try:
            return selectors.organization_get_for_user(
                user=self.request.user, organization_id=self.kwargs["organization_pk"]
            )
        except (Organization.DoesNotExist, ValueError) as exc:
            raise Http404 from exc

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.membership_list(organization=self.get_organization()).order_by("id")

    @extend_schema(request=MembershipCreateSerializer, responses={201: MembershipSerializer})
    def create(self, request, organization_pk=None):
        organization = self.get_organization()
        payload = MembershipCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user = User.objects.filter(username=payload.validated_data["username"]).first()
        if user is None:
            raise exceptions.ValidationError({"username": "No user with this username."})
        membership = _service_errors(
            lambda: services.membership_add(
                organization=organization,
                actor=request.user,
                user=user,
                role=payload.validated_data["role"],
            )
        )
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, organization_pk=None, pk=None):
        organization = self.get_organization()
        _service_errors(
            lambda: services.membership_remove(
                organization=organization, actor=request.user, membership_id=int(pk)
            )
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
