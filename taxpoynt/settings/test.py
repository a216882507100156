from taxpoynt.settings.base import *  # noqa: F403
from taxpoynt.settings.base import (
    CACHES,
    CELERY_BROKER_TRANSPORT_OPTIONS,
    INSTALLED_APPS,
    sandbox_apps_installed,
)

DEBUG = False
SANDBOX_ENABLED = True
INSTALLED_APPS = sandbox_apps_installed(INSTALLED_APPS, enabled=SANDBOX_ENABLED)
# Static files come from the apps in tests; no collectstatic.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Keep test messages and cache entries apart from a `make run` on the same Redis.
CELERY_BROKER_TRANSPORT_OPTIONS = {**CELERY_BROKER_TRANSPORT_OPTIONS, "global_keyprefix": "test:"}
CACHES = {"default": {**CACHES["default"], "KEY_PREFIX": "test"}}
