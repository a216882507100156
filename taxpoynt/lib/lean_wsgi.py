"""Machine-to-machine paths served without the browser middleware.

A webhook delivery (and a call to a sandbox's API) carries no session, cookie, CSRF token or
logged-in user, yet the full middleware stack costs it a large share of its CPU. Requests under
``LEAN_PATH_PREFIXES`` go through the same URLs and views with only Django's security
middleware (its HTTPS redirect and headers); every other request gets the full stack.
"""

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.middleware.security import SecurityMiddleware


class LeanWSGIHandler(WSGIHandler):
    """Django's handler with SecurityMiddleware as its only middleware."""

    def load_middleware(self, is_async=False):
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        inner = convert_exception_to_response(self._get_response)
        self._middleware_chain = convert_exception_to_response(SecurityMiddleware(inner))


class PathDispatcher:
    """Sends requests under ``lean_prefixes`` to ``lean``, every other request to ``full``."""

    def __init__(self, *, full, lean, lean_prefixes: tuple[str, ...]):
        self.full = full
        self.lean = lean
        self.lean_prefixes = lean_prefixes

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        handler = self.lean if path.startswith(self.lean_prefixes) else self.full
        return handler(environ, start_response)
