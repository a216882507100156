from taxpoynt.lib.paths import ensure_dirs
from taxpoynt.settings.base import *  # noqa: F403
from taxpoynt.settings.base import CELERY_BROKER_TRANSPORT_OPTIONS, REDIS_URL, VAR_DIR

DEBUG = False
SANDBOX_ENABLED = True
# Static files come from the apps in tests; no collectstatic.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Keep test messages apart from a `make run` on the same machine.
if REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,
        "global_keyprefix": "test:",
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "test",
        }
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "test-broker"),
        "data_folder_out": str(VAR_DIR / "test-broker"),
        "control_folder": str(VAR_DIR / "test-broker-control"),
    }
    CELERY_RESULT_BACKEND = f"file://{VAR_DIR / 'test-celery-results'}"
    ensure_dirs(
        VAR_DIR / "test-broker", VAR_DIR / "test-broker-control", VAR_DIR / "test-celery-results"
    )
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
