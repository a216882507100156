"""API conventions shared by every app: the ``{"detail": ...}`` error body and the working
organization of tenant-scoped views (pagination: taxpoynt.pagination)."""

from django.http import Http404
from drf_spectacular.openapi import AutoSchema
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication

from accounts import selectors
from accounts.services import SESSION_ORGANIZATION_KEY


class ApiErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class OrganizationRequired(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "organization_required"


class OrganizationContextSchema(AutoSchema):
    """Documents the answers every tenant-scoped operation can give about its organization."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, description in (
            ("400", "No organization chosen (X-Organization-Id) or a malformed one."),
            ("404", "Not found, or not in the caller's organization."),
        ):
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    ApiErrorSerializer, code, direction=direction
                )
                responses[code]["description"] = description
        return responses


class OrganizationContextMixin:
    """For tenant-scoped API views: ``self.organization`` is the caller's working organization.

    Clients in several organizations name one with the ``X-Organization-Id`` header; a browser
    session works in the organization its pages show (chosen last in the switcher). A token
    client in several organizations that names none is refused with 400 rather than given a
    guessed one: it must never act in an organization it did not choose. Naming an organization
    the caller does not belong to answers 404, as a missing one would.
    """

    organization_header = "HTTP_X_ORGANIZATION_ID"
    schema = OrganizationContextSchema()

    @property
    def organization(self):
        if not hasattr(self, "_organization"):
            self._organization = self._resolve_organization()
        return self._organization

    def _resolve_organization(self):
        user = self.request.user
        organizations = selectors.organization_list_for_user(user=user)
        raw = self.request.META.get(self.organization_header)
        if raw is not None:
            if not (raw.isascii() and raw.isdigit()):
                raise OrganizationRequired("X-Organization-Id must be an organization's id.")
            organization = organizations.filter(pk=int(raw)).first()
            if organization is None:
                raise Http404
            return organization
        if isinstance(self.request.successful_authenticator, SessionAuthentication):
            # The pages' own requests (QR images, downloads): the organization the page shows.
            organization = selectors.default_organization_for_user(
                user=user, preferred_id=self.request.session.get(SESSION_ORGANIZATION_KEY)
            )
            if organization is None:
                raise Http404
            return organization
        candidates = list(organizations.order_by("id")[:2])
        if not candidates:
            raise Http404
        if len(candidates) > 1:
            raise OrganizationRequired(
                "You are a member of several organizations: name the one to work in with the "
                "X-Organization-Id header (GET /api/v1/organizations/ lists them)."
            )
        return candidates[0]
