from accounts.selectors import default_organization_for_user
from accounts.services import SESSION_ORGANIZATION_KEY


def current_organization(request, preferred_id=None):
    """The signed-in user's working organization (or None): an explicit choice, the session's, or
    their first."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    if preferred_id is None:
        preferred_id = request.session.get(SESSION_ORGANIZATION_KEY)
    return default_organization_for_user(user=user, preferred_id=preferred_id)


class CurrentOrganizationMiddleware:
    """Sets ``request.organization`` for server-rendered pages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.organization = current_organization(request)
        return self.get_response(request)
