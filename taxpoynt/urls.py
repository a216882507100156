from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from integrations.base.views import oauth_callback
from taxpoynt.ops.views import health, metrics

api_v1 = [
    path("", include("accounts.urls")),
    path("", include("invoices.urls")),
    path("", include("integrations.pos.urls")),
    path("", include("integrations.crm.urls")),
    path("", include("integrations.erp.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    path("webhooks/", include("integrations.base.webhook_urls")),
    path(
        "integrations/oauth/<slug:family>/<slug:platform>/callback/",
        oauth_callback,
        name="oauth-callback",
    ),
    path("metrics", metrics, name="prometheus-django-metrics"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: the content policy allows no inline one.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Tenant pages (server-rendered).
    path("", include("accounts.page_urls")),
    path("", include("accounts.api_tokens.page_urls")),
    path("", include("invoices.page_urls")),
    path("", include("catalog.page_urls")),
    path("", include("audit.page_urls")),
    path("", include("integrations.pos.page_urls")),
    path("", include("integrations.crm.page_urls")),
    path("", include("integrations.erp.page_urls")),
]

# Each installed sandbox app that serves an API declares where (its ``mount``); none is installed
# unless SANDBOX_ENABLED.
urlpatterns += [
    path(f"sandbox/{config.mount}/", include(f"{config.name}.urls"))
    for config in apps.get_app_configs()
    if settings.SANDBOX_ENABLED and getattr(config, "mount", None)
]
