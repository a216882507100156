from taxpoynt.settings.base import *  # noqa: F403
from taxpoynt.settings.base import (
    INSTALLED_APPS,
    SPECTACULAR_SETTINGS,
    env,
    sandbox_apps_installed,
)

DEBUG = False
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=False)
INSTALLED_APPS = sandbox_apps_installed(INSTALLED_APPS, enabled=SANDBOX_ENABLED)

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=15724800)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = True
# Pages carry the token in their forms and htmx headers; no script reads the cookie.
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
# Login lockouts count per client address, which behind the proxy is in X-Forwarded-For.
AXES_CLIENT_IP_CALLABLE = "taxpoynt.lib.security_headers.forwarded_client_ip"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# The API's schema and docs describe every endpoint: for signed-in users (a token or a login).
SPECTACULAR_SETTINGS = {
    **SPECTACULAR_SETTINGS,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
}
