from django.urls import path

from integrations.base import webhooks

app_name = "webhooks"

urlpatterns = [
    path(
        "<slug:family>/<slug:platform>/<uuid:connection_id>/",
        webhooks.connection_webhook,
        name="connection",
    ),
    path(
        "<slug:family>/<slug:platform>/<uuid:connection_id>/<str:secret>/",
        webhooks.secret_url_webhook,
        name="secret_url",
    ),
    path("<slug:family>/<slug:platform>/", webhooks.app_webhook, name="app"),
]
