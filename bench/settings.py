"""Settings of `make bench`: the development stack without DEBUG, on its own database, broker
prefix and cache, plus the yardstick endpoint (bench/urls.py)."""

import sys

from taxpoynt.lib.paths import ensure_dirs
from taxpoynt.settings.development import *  # noqa: F403
from taxpoynt.settings.development import (
    CELERY_BROKER_TRANSPORT_OPTIONS,
    DATABASES,
    LOGGING,
    REDIS_URL,
    VAR_DIR,
    env,
)

# Many threads wait on I/O in each process; a shorter GIL switch interval keeps a thread whose
# reply has arrived from waiting out a CPU-bound neighbour's 5 ms slice.
sys.setswitchinterval(env.float("PYTHON_SWITCH_INTERVAL", default=0.001))

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.urls"
DATABASES["default"]["NAME"] = env.str("DATABASE_NAME", default="taxpoynt_bench")
LOGGING = {**LOGGING, "root": {**LOGGING["root"], "level": "WARNING"}}

if REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,
        "global_keyprefix": "bench:",
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "bench",
        }
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "bench-broker"),
        "data_folder_out": str(VAR_DIR / "bench-broker"),
        "control_folder": str(VAR_DIR / "bench-broker-control"),
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "bench-cache"),
        }
    }
    ensure_dirs(VAR_DIR / "bench-broker", VAR_DIR / "bench-broker-control")
