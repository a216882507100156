"""API conventions shared by every app, so that an endpoint keeps them without doing anything:

- one error body, ``{"detail": "...", "code": "..."}`` plus the fields' errors of a 400, for
  every error under ``/api/``, the URL resolver's 404 and a crash's 500 included;
- date-times answered in UTC (RFC 3339), taken between the years 2000 and 2100;
- the working organization of tenant-scoped views;
- elsewhere: pagination (taxpoynt.pagination), filters that refuse an empty value where the
  schema allows none (taxpoynt.filters), a schema that documents every status code an
  operation can answer (taxpoynt.schema).
"""

import math
from datetime import UTC

from django.http import Http404, JsonResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.views import exception_handler as drf_exception_handler

from accounts import selectors
from accounts.services import SESSION_ORGANIZATION_KEY
from taxpoynt.filters import API_YEARS, year_range_check

API_PREFIX = "/api/"
ORGANIZATION_HEADER = OpenApiParameter(
    "X-Organization-Id",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    description="The organization to work in; token clients in several must send it (else 400).",
)


# --- Errors -------------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """What every error under /api/ answers. A 400 about the request's fields adds each field's
    messages under its name (a nested or list field's under its own name too)."""

    detail = serializers.CharField(help_text="What went wrong, for a person.")
    code = serializers.CharField(help_text="What went wrong, for a program: e.g. not_found.")


def error_body(*, detail: str, code: str, fields: dict | None = None) -> dict:
    return {**(fields or {}), "detail": detail, "code": code}


def _first_message(errors, path=()) -> tuple[str, str]:
    """(where, message) of the first message in DRF's nested validation errors."""
    if isinstance(errors, dict):
        for name, value in errors.items():
            return _first_message(value, (*path, str(name)))
    if isinstance(errors, list) and errors:
        return _first_message(errors[0], path)
    return ".".join(name for name in path if name != "non_field_errors"), str(errors)


def _validation_body(exc: exceptions.ValidationError) -> dict:
    fields = dict(exc.detail) if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
    if "detail" in fields:
        # A view's own message about the whole request, raised as {"detail": message}.
        where, message = "", _first_message(fields.pop("detail"))[1]
    else:
        where, message = _first_message(fields)
    return error_body(
        detail=f"{where}: {message}" if where else message, code="invalid", fields=fields
    )


def exception_handler(exc, context):
    """DRF's handler (status, Retry-After, WWW-Authenticate), answering the one error body."""
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = _validation_body(exc)
    elif isinstance(exc, exceptions.APIException):
        response.data = error_body(
            detail=str(exc.detail), code=getattr(exc.detail, "code", exc.default_code)
        )
    else:
        # Django's Http404 and PermissionDenied, as DRF turned them into an answer.
        response.data = error_body(
            detail=str(response.data.get("detail", "")),
            code="not_found" if response.status_code == 404 else "permission_denied",
        )
    return response


_ERROR_CODES = {
    status.HTTP_400_BAD_REQUEST: ("bad_request", "The request is malformed."),
    status.HTTP_403_FORBIDDEN: ("permission_denied", "You may not do this."),
    status.HTTP_404_NOT_FOUND: ("not_found", "Nothing here: check the address."),
    status.HTTP_405_METHOD_NOT_ALLOWED: ("method_not_allowed", "This method is not allowed here."),
    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: ("too_large", "The request is too large."),
    status.HTTP_500_INTERNAL_SERVER_ERROR: (
        "server_error",
        "Something went wrong on our side; it is logged. Try again later.",
    ),
}


class ApiMiddleware:
    """For requests under /api/: date-times are converted to and from UTC (the tenants' zone can
    give historical dates a local mean time offset such as +00:13:35, which RFC 3339 cannot
    write), and an error answered by anything but DRF (the URL resolver's 404, Django's 400,
    403 and 500 pages, in DEBUG the technical pages) becomes the API's JSON error body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        with timezone.override(UTC):
            response = self.get_response(request)
        if response.status_code >= 400 and "json" not in response.get("Content-Type", ""):
            return json_error_response(status_code=response.status_code, headers=response)
        return response


def json_error_response(*, status_code: int, headers=None) -> JsonResponse:
    code, detail = _ERROR_CODES.get(status_code, ("error", "The request failed."))
    response = JsonResponse(error_body(detail=detail, code=code), status=status_code)
    for name in ("Allow", "Retry-After", "WWW-Authenticate"):
        if headers is not None and headers.has_header(name):
            response[name] = headers[name]
    return response


def declares_errors(*exception_classes):
    """Documents, on a view's handler or action (or on a view class, for all its operations),
    the errors (APIException classes) it raises beyond the ones every operation can answer
    (400, 401, 403, 404): e.g. a 409, or a 503 (its Retry-After header documented too)."""

    def mark(func):
        func.declared_errors = (*getattr(func, "declared_errors", ()), *exception_classes)
        return func

    return mark


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The resource is not in a state that allows this."
    default_code = "conflict"


class ServiceUnavailable(exceptions.APIException):
    """A service we depend on is not answering; ``retry_after`` seconds (at least 1) becomes the
    Retry-After header."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "A service this needs is not answering; try again later."
    default_code = "unavailable"
    default_retry_after = 30

    def __init__(self, detail=None, *, retry_after: float | None = None):
        super().__init__(detail)
        # DRF's exception handler turns ``wait`` into a Retry-After header.
        self.wait = max(1, math.ceil(retry_after or self.default_retry_after))


class OrganizationRequired(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "organization_required"


# --- Date-times --------------------------------------------------------------------------------


class DateTimeField(serializers.DateTimeField):
    """A date-time the API takes: RFC 3339, between the years 2000 and 2100."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "help_text",
            f"RFC 3339, between the years {API_YEARS.start} and {API_YEARS.stop - 1}.",
        )
        super().__init__(**kwargs)
        self.validators.append(year_range_check)


# --- Tenant context -----------------------------------------------------------------------------


class OrganizationContextMixin:
    """For tenant-scoped API views: ``self.organization`` is the caller's working organization.

    Clients in several organizations name one with the ``X-Organization-Id`` header; a browser
    session works in the organization its pages show (chosen last in the switcher). A token
    client in several organizations that names none is refused with 400 rather than given a
    guessed one: it must never act in an organization it did not choose. Naming an organization
    the caller does not belong to answers 404, as a missing one would.
    """

    organization_header = "HTTP_X_ORGANIZATION_ID"

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
