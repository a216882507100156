"""The API schema's generator: every operation documents every status code it can answer, with
the error body, without each view saying so."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import permissions, serializers, status

from taxpoynt.api import ORGANIZATION_HEADER, ErrorSerializer, OrganizationContextMixin

_RETRY_AFTER_HEADER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 0},
    }
}


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's, documenting what every operation can answer besides its success:
    400 (it takes a body, query parameters or the organization header), 401 and 403 (it needs
    a login), 404 (it names a row, or works in an organization), 429 (it is throttled), and
    the errors its handler declares with ``declares_errors`` (e.g. 409, 503 with Retry-After);
    each with the error body. Views scoped to an organization get the X-Organization-Id
    header. A time of day is documented as what it is (no offset), not as RFC 3339's time, and
    an e-mail address or URL answered read-only as possibly blank."""

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if isinstance(self.view, OrganizationContextMixin):
            parameters.append(ORGANIZATION_HEADER)
        return parameters

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        for code, description in self._error_responses(operation):
            if str(code) in responses:
                continue
            response = self._get_response_for_code(ErrorSerializer, str(code))
            response["description"] = description
            if code in (status.HTTP_429_TOO_MANY_REQUESTS, status.HTTP_503_SERVICE_UNAVAILABLE):
                response["headers"] = _RETRY_AFTER_HEADER
            responses[str(code)] = response
        return operation

    def _error_responses(self, operation):
        parameters = operation.get("parameters", [])
        takes_input = "requestBody" in operation or any(
            parameter["in"] in ("query", "header") for parameter in parameters
        )
        if takes_input:
            yield 400, "The request is invalid: see detail and the fields' messages."
        if any(
            not isinstance(permission, permissions.AllowAny)
            for permission in self.view.get_permissions()
        ):
            yield 401, "No valid credentials."
            yield 403, "The caller may not do this."
        scoped = isinstance(self.view, OrganizationContextMixin)
        if scoped or any(parameter["in"] == "path" for parameter in parameters):
            yield 404, "No such row here (another organization's rows are not found)."
        if self.view.get_throttles():
            yield 429, "Too many requests; see Retry-After."
        declared: dict[int, list[str]] = {}
        for exception_class in self._declared_errors():
            declared.setdefault(exception_class.status_code, []).append(
                str(exception_class.default_detail)
            )
        for code, descriptions in sorted(declared.items()):
            yield code, " Or: ".join(descriptions)

    def _declared_errors(self):
        handler_name = getattr(self.view, "action", None) or self.method.lower()
        handler = getattr(self.view, handler_name, None)
        return (
            *getattr(type(self.view), "declared_errors", ()),
            *getattr(handler, "declared_errors", ()),
        )

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, serializers.TimeField) and schema.get("format") == "time":
            # RFC 3339's time has an offset; ours (FIRS's issue_time) is a local wall-clock time.
            del schema["format"]
            schema["pattern"] = r"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?$"
            schema.setdefault("description", "A local time of day, HH:MM:SS, without an offset.")
        return schema

    def _insert_field_validators(self, field, schema):
        super()._insert_field_validators(field, schema)
        if schema.get("format") in ("email", "uri") and field.read_only:
            # An address that may be unset answers "" (a user without an e-mail), which no
            # e-mail or URI format admits; a writable one says so by allow_blank, which
            # drf-spectacular documents itself.
            schema["anyOf"] = [{"format": schema.pop("format")}, {"maxLength": 0}]
