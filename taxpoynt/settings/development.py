from taxpoynt.settings.base import *  # noqa: F403
from taxpoynt.settings.base import INSTALLED_APPS, env, sandbox_apps_installed

DEBUG = env.bool("DEBUG", default=True)
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=True)
INSTALLED_APPS = sandbox_apps_installed(INSTALLED_APPS, enabled=SANDBOX_ENABLED)

# gunicorn serves the admin's and the pages' static files straight from the apps in development.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Mail is printed by the web process unless EMAIL_URL names a server.
if not env.str("EMAIL_URL", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
