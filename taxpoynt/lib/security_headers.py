"""Response headers Django's SecurityMiddleware does not set, and the client address behind the
proxy."""

from django.conf import settings


class PermissionsPolicyMiddleware:
    """Turns off browser features no page uses (camera, location, payment...), so an injected
    script or a framing page cannot ask for them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


def forwarded_client_ip(request) -> str | None:
    """The address our proxy saw: the last entry of X-Forwarded-For, the one it appended (the
    entries before it come from the client and can be anything); the socket's without one."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded.strip():
        return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR")
