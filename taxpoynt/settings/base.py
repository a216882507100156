"""Settings shared by every environment; values come from the environment (django-environ).

A git-ignored ``.env`` at the project root is read first; real environment variables win.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from taxpoynt.lib.crypto import parse_encryption_keys

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Put it in the environment or in .env (`make setup` writes one)."
    )
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Newest key first: it encrypts; every listed key decrypts. Refuse to boot without a valid list.
FIELD_ENCRYPTION_KEYS = parse_encryption_keys(env.str("FIELD_ENCRYPTION_KEYS", default=None))

INSTALLED_APPS = [
    # The admin site that asks staff for a second factor (accounts.otp.admin_site).
    "accounts.otp.apps.VerifiedAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_prometheus",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    "taxpoynt.ops",
    "accounts",
    "integrations.base",
    "integrations.crm",
    "integrations.pos",
    "integrations.erp",
    "invoices",
    "catalog",
    "audit",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # Outside the others: it sees every answer under /api/, theirs included.
    "taxpoynt.api.ApiMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "taxpoynt.lib.security_headers.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last of the request middleware: it answers a locked-out login.
    "axes.middleware.AxesMiddleware",
    "accounts.middleware.CurrentOrganizationMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

# Machine-to-machine paths (webhooks, the sandboxes' APIs) skip the browser middleware: no
# session, user, CSRF or messages there (taxpoynt/lib/lean_wsgi.py).
LEAN_PATH_PREFIXES = ("/webhooks/", "/sandbox/")

ROOT_URLCONF = "taxpoynt.urls"
WSGI_APPLICATION = "taxpoynt.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.firs_setup_waiting",
            ],
            "libraries": {
                "money": "taxpoynt.templatetags.money",
                "help": "taxpoynt.templatetags.help",
            },
        },
    },
]

if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
    DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
else:
    from taxpoynt.lib.embedded_db import embedded_database_settings

    DATABASES = {"default": embedded_database_settings(VAR_DIR / "pgdata")}
# Points a process at another database on the same server (the test workers use the test one).
if env.str("DATABASE_NAME", default=""):
    DATABASES["default"]["NAME"] = env.str("DATABASE_NAME")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# A dropped connection (database restart) is noticed and replaced without restarting processes.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Parameters bound on the server, so that psycopg prepares a statement it has run a few times on
# a connection: PostgreSQL then skips parsing and planning it again (most of a short query's CPU).
DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Outgoing mail (invitations): EMAIL_URL as django-environ reads it, e.g. smtp+tls://user:pass@host:587.
vars().update(env.email_url("EMAIL_URL", default="smtp://localhost:25"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="TaxPoynt <no-reply@taxpoynt.example>")

# The bearer token Prometheus scrapes /metrics with; empty: staff logins only.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    REDIS_BROKER_URL = REDIS_CACHE_URL = REDIS_URL
else:
    # Shared by every local process (web, workers, beat, tests): started once, left running.
    from taxpoynt.lib.embedded_redis import embedded_redis

    _embedded_redis = embedded_redis(VAR_DIR / "redis")
    REDIS_BROKER_URL, REDIS_CACHE_URL = _embedded_redis.broker_url, _embedded_redis.cache_url
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_CACHE_URL,
    }
}

# Axes first: it refuses a locked-out (username, IP) before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Africa/Lagos"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "invoices:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

# Login brute-force limits (django-axes, counted for unknown usernames too, so a locked answer
# says nothing about whether the account exists): LOGIN_FAILURES_PER_IP wrong passwords for one
# username from one address, or LOGIN_FAILURES_PER_ACCOUNT from any addresses, lock that
# username for the cool-off; the right password is then refused until it ends.
AXES_HANDLER = "accounts.lockout.LoginLockoutHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
LOGIN_FAILURES_PER_IP = env.int("LOGIN_FAILURES_PER_IP", default=5)
LOGIN_FAILURES_PER_ACCOUNT = env.int("LOGIN_FAILURES_PER_ACCOUNT", default=30)
AXES_FAILURE_LIMIT = LOGIN_FAILURES_PER_IP
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

# Staff verify a TOTP code (or a one-time backup code) before the admin opens.
OTP_TOTP_ISSUER = "TaxPoynt"
OTP_BACKUP_TOKENS = 10
# Devices' keys and backup codes are never shown again in the admin once made.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Content-Security-Policy on every response (django-csp). Scripts run only from our own static
# files or with the request's nonce (``nonce="{{ request.csp_nonce }}"``); no inline handlers,
# no eval. Inline styles stay allowed: the admin and Swagger UI set style attributes.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api_tokens.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "taxpoynt.pagination.CursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["taxpoynt.filters.FilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "taxpoynt.schema.AutoSchema",
    "EXCEPTION_HANDLER": "taxpoynt.api.exception_handler",
    # JSON bodies only: a form cannot carry the nested fields (a connection's settings), which
    # DRF then leaves out silently instead of refusing them.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "TaxPoynt integrations API",
    "DESCRIPTION": "Connect CRM, POS and ERP platforms and turn their sales into FIRS e-invoices.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from our own static files (drf-spectacular-sidecar), not a CDN: the docs work
    # on a closed network and under a strict content policy.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status" or "kind"; each choice set gets its own schema name.
    "ENUM_NAME_OVERRIDES": {
        "InvoiceStatusEnum": "invoices.models.Invoice.Status",
        "InvoiceKindEnum": "invoices.models.Invoice.Kind",
        "POSTransactionStatusEnum": "integrations.pos.models.POSTransaction.Status",
        "POSTransactionKindEnum": "integrations.pos.models.POSTransaction.Kind",
        "SyncRunStatusEnum": "integrations.base.models.SyncRun.Status",
        "SyncRunKindEnum": "integrations.base.models.SyncRun.Kind",
        "CRMDealStatusEnum": "integrations.crm.models.CRMDeal.Status",
        "InvitationStatusEnum": "accounts.models.Invitation.Status",
        "ERPDocumentStatusEnum": "integrations.erp.models.ERPDocument.Status",
        "ERPDocumentKindEnum": "integrations.erp.models.ERPDocument.Kind",
    },
}

# Celery: one queue per source priority; see taxpoynt/celery.py for the routes.
CELERY_BROKER_URL = REDIS_BROKER_URL
# Longer than any task's hard limit or countdown, so an unacked message is not re-run early.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_RESULT_BACKEND = REDIS_BROKER_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = 3600
# Each queue has its own direct exchange and routing key, so ``queue=`` on a task or a beat entry
# lands on that queue only.
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name, type="direct"), routing_key=name)
    for name in ("realtime", "standard", "batch")
]
CELERY_TASK_DEFAULT_QUEUE = "standard"
CELERY_TASK_DEFAULT_EXCHANGE = "standard"
CELERY_TASK_DEFAULT_ROUTING_KEY = "standard"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = False
# Celery's Django fix-up closes the database connections every 2 x this many tasks; taxpoynt.celery
# applies CONN_MAX_AGE instead.
CELERY_DB_REUSE_MAX = 1_000_000
# A queue counts as served when one of its workers reported within this many seconds.
WORKER_HEARTBEAT_MAX_AGE = env.int("WORKER_HEARTBEAT_MAX_AGE", default=120)

SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=DEBUG)
# The simulators of outside APIs (sandboxes/): installed, with their tables, and mounted at
# /sandbox/<name>/ only where SANDBOX_ENABLED (set again by each environment's settings).
SANDBOX_APPS = [
    "sandboxes.kit",
    "sandboxes.square",
    "sandboxes.toast",
    "sandboxes.lightspeed",
    "sandboxes.hubspot",
    "sandboxes.pipedrive",
    "sandboxes.salesforce",
    "sandboxes.odoo",
    "sandboxes.firs",
]


def sandbox_apps_installed(apps: list[str], *, enabled: bool) -> list[str]:
    """``apps`` with the sandbox apps, or without them."""
    return [app for app in apps if app not in SANDBOX_APPS] + (SANDBOX_APPS if enabled else [])


INSTALLED_APPS = sandbox_apps_installed(INSTALLED_APPS, enabled=SANDBOX_ENABLED)

# Invoice pipeline (invoices/services.py): retries with exponential backoff and the claim that
# keeps two workers off one invoice. Countdowns stay far below the broker's visibility timeout,
# or the broker would hand a waiting task to a second worker. A transient FIRS failure is retried
# for INVOICE_RETRY_BUDGET_SECONDS from its first failure (a FIRS outage lasts hours, not
# minutes); only then, or on a permanent error, does the invoice need attention.
INVOICE_RETRY_BUDGET_SECONDS = env.float("INVOICE_RETRY_BUDGET_SECONDS", default=24 * 3600.0)
INVOICE_RETRY_BASE_SECONDS = env.float("INVOICE_RETRY_BASE_SECONDS", default=2.0)
INVOICE_RETRY_MAX_SECONDS = env.float("INVOICE_RETRY_MAX_SECONDS", default=600.0)
INVOICE_CLAIM_SECONDS = env.int("INVOICE_CLAIM_SECONDS", default=120)
INVOICE_SWEEP_IDLE_SECONDS = env.int("INVOICE_SWEEP_IDLE_SECONDS", default=60)
# Test hook for crash scenarios: {"after_sign": seconds} pauses a worker at that point.
INVOICE_FAULT_PAUSES = env.json("INVOICE_FAULT_PAUSES", default={})
# FIRS circuit breaker, shared by all processes through the cache.
FIRS_BREAKER_FAIL_MAX = env.int("FIRS_BREAKER_FAIL_MAX", default=5)
FIRS_BREAKER_RESET_SECONDS = env.float("FIRS_BREAKER_RESET_SECONDS", default=60.0)
# How long a process trusts its last sight of a closed breaker before asking the cache again.
FIRS_BREAKER_CLEAN_MEMORY_SECONDS = env.float("FIRS_BREAKER_CLEAN_MEMORY_SECONDS", default=1.0)
# The FIRS (NRS) API new organizations sign with; empty uses the site's own FIRS sandbox where
# SANDBOX_ENABLED (development, tests).
FIRS_BASE_URL = env.str("FIRS_BASE_URL", default="")
# When the breaker closes, the invoices that waited for FIRS are queued again at this many a
# second, so a backlog of an outage does not reach FIRS all at once.
FIRS_REDRIVE_PER_SECOND = env.float("FIRS_REDRIVE_PER_SECOND", default=20.0)
# Where the beat task fetches the FIRS code lists; empty keeps the stored lists.
FIRS_RESOURCES_BASE_URL = env.str("FIRS_RESOURCES_BASE_URL", default="")

# Platform apps: our own OAuth client per platform, and the key that signs the deliveries of our
# app's webhook subscription (the endpoint routed by account id). The defaults are the sandbox
# app's, so a new machine can connect to the in-project sandboxes and nothing real.
PLATFORM_APPS = {
    "square": {
        "client_id": env.str("SQUARE_CLIENT_ID", default="sandbox-sq0idb-taxpoynt"),
        "client_secret": env.str("SQUARE_CLIENT_SECRET", default="sandbox-sq0csb-taxpoynt"),
        "signing_secret": env.str("SQUARE_WEBHOOK_SIGNATURE_KEY", default=""),
        "notification_url": env.str("SQUARE_WEBHOOK_NOTIFICATION_URL", default=""),
    },
    "toast": {
        # Toast signs with the subscription's secret; our partner subscription's, when one
        # posts every restaurant's orders to the app endpoint. No default: unsigned is refused.
        "signing_secret": env.str("TOAST_WEBHOOK_SECRET", default=""),
        "notification_url": env.str("TOAST_WEBHOOK_NOTIFICATION_URL", default=""),
    },
    "hubspot": {
        "client_id": env.str("HUBSPOT_CLIENT_ID", default="sandbox-hubspot-taxpoynt"),
        "client_secret": env.str("HUBSPOT_CLIENT_SECRET", default="sandbox-hubspot-secret"),
        # HubSpot signs v3 webhooks with the app's client secret. No default: without a real
        # secret the app's endpoint refuses every delivery rather than trust a known one.
        "signing_secret": env.str("HUBSPOT_CLIENT_SECRET", default=""),
        # The URL the subscription posts to, when a proxy makes it differ from the request's.
        "notification_url": env.str("HUBSPOT_WEBHOOK_NOTIFICATION_URL", default=""),
    },
    "pipedrive": {
        "client_id": env.str("PIPEDRIVE_CLIENT_ID", default="sandbox-pipedrive-taxpoynt"),
        "client_secret": env.str("PIPEDRIVE_CLIENT_SECRET", default="sandbox-pipedrive-secret"),
        # Pipedrive signs nothing: our own webhooks carry per-connection Basic credentials. This
        # key only serves an app-wide subscription, made with credentials derived from it.
        "signing_secret": env.str("PIPEDRIVE_WEBHOOK_SECRET", default=""),
        "notification_url": env.str("PIPEDRIVE_WEBHOOK_NOTIFICATION_URL", default=""),
    },
    # Salesforce's connected app (its consumer key and secret; the secret also signs token
    # answers). Outbound Messages are unsigned: each connection's URL carries its own secret.
    "salesforce": {
        "client_id": env.str("SALESFORCE_CLIENT_ID", default="sandbox-salesforce-taxpoynt"),
        "client_secret": env.str("SALESFORCE_CLIENT_SECRET", default="sandbox-salesforce-secret"),
    },
    "lightspeed": {
        "client_id": env.str("LIGHTSPEED_CLIENT_ID", default="sandbox-lightspeed-taxpoynt"),
        "client_secret": env.str("LIGHTSPEED_CLIENT_SECRET", default="sandbox-lightspeed-secret"),
        # Lightspeed signs each connection's webhooks with the app's client secret, which the
        # connection's endpoint checks; our app-wide endpoint is not used.
        "signing_secret": "",
        "notification_url": "",
        # Whether a signature of the decoded ``payload`` field is accepted too (Lightspeed's text
        # leaves open which it signs; the raw body is what is seen in use).
        "decoded_payload_signatures": env.bool(
            "LIGHTSPEED_DECODED_PAYLOAD_SIGNATURES", default=False
        ),
    },
}
# Webhooks: bodies over this size are refused (413); refused deliveries kept per platform.
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=1024 * 1024)
WEBHOOK_QUARANTINE_CAP = env.int("WEBHOOK_QUARANTINE_CAP", default=1000)
# Sweeper: events and transactions pending longer than this are re-queued (their task was
# lost, e.g. by a crash between commit and publish).
INTEGRATIONS_SWEEP_AFTER_SECONDS = env.int("INTEGRATIONS_SWEEP_AFTER_SECONDS", default=30)
# Incremental sync runs (one per CRM connection per sync) kept for operators to look back on.
SYNC_RUNS_KEEP_DAYS = env.int("SYNC_RUNS_KEEP_DAYS", default=14)
# Back-fills and their invoices wait while live POS sales are late: for BATCH_HOLD_SECONDS after
# one took longer than REALTIME_LATE_SECONDS (half its 2 s SLA) from receipt to signature, each
# wait BATCH_MAX_WAIT_SECONDS at most (taxpoynt.lib.priority).
REALTIME_LATE_SECONDS = env.float("REALTIME_LATE_SECONDS", default=1.0)
BATCH_HOLD_SECONDS = env.int("BATCH_HOLD_SECONDS", default=3)
BATCH_MAX_WAIT_SECONDS = env.float("BATCH_MAX_WAIT_SECONDS", default=60.0)
BATCH_WAIT_POLL_SECONDS = 0.5
INTEGRATIONS_MAX_ATTEMPTS = env.int("INTEGRATIONS_MAX_ATTEMPTS", default=8)
# A connect flow's one-time state is good for this long.
OAUTH_STATE_SECONDS = env.int("OAUTH_STATE_SECONDS", default=600)
# Access tokens are refreshed when they expire within this many seconds.
OAUTH_REFRESH_MARGIN_SECONDS = env.int("OAUTH_REFRESH_MARGIN_SECONDS", default=24 * 3600)
# Months of pos_transactions partitions kept ahead of today.
PARTITION_MONTHS_AHEAD = env.int("PARTITION_MONTHS_AHEAD", default=3)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
