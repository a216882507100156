import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taxpoynt.settings.development")

full_application = get_wsgi_application()

from django.conf import settings  # noqa: E402 (after set-up)

from taxpoynt.lib.lean_wsgi import LeanWSGIHandler, PathDispatcher  # noqa: E402

application = PathDispatcher(
    full=full_application,
    lean=LeanWSGIHandler(),
    lean_prefixes=tuple(settings.LEAN_PATH_PREFIXES),
)
