from accounts.selectors import default_organization_for_user
from accounts.services import SESSION_ORGANIZATION_KEY


def current_organization(request):
    """The signed-in user's working organization on the pages (or None): the session's choice,
    else the one they chose last."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return default_organization_for_user(
        user=user, preferred_id=request.session.get(SESSION_ORGANIZATION_KEY)
    )


class CurrentOrganizationMiddleware:
    """Sets ``request.organization`` for server-rendered pages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.organization = current_organization(request)
        return self.get_response(request)
