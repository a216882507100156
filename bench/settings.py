"""Settings of `make bench`: the development stack without DEBUG, on its own database, broker
prefix and cache, plus the yardstick endpoint (bench/urls.py)."""

import sys

from taxpoynt.settings.development import *  # noqa: F403
from taxpoynt.settings.development import (
    CACHES,
    CELERY_BROKER_TRANSPORT_OPTIONS,
    DATABASES,
    LOGGING,
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

CELERY_BROKER_TRANSPORT_OPTIONS = {**CELERY_BROKER_TRANSPORT_OPTIONS, "global_keyprefix": "bench:"}
CACHES = {"default": {**CACHES["default"], "KEY_PREFIX": "bench"}}
