"""Tenant pages of the integrations and the POS, mounted at the site root. The Integrations page
serves every family (integrations.base.page_views); the connection actions are named alike in
each family's namespace."""

from django.urls import path

from integrations.base import page_views
from integrations.pos import views

app_name = "pos"

urlpatterns = [
    path("integrations/", page_views.integrations, name="integrations"),
    path(
        "integrations/pos/<slug:platform>/connect/",
        views.connection_pages.connect,
        name="connection_connect",
    ),
    path(
        "integrations/pos/connections/<uuid:connection_id>/settings/",
        views.connection_pages.settings,
        name="connection_settings",
    ),
    path(
        "integrations/pos/connections/<uuid:connection_id>/rename/",
        views.connection_pages.rename,
        name="connection_rename",
    ),
    path(
        "integrations/pos/connections/<uuid:connection_id>/disconnect/",
        views.connection_pages.disconnect,
        name="connection_disconnect",
    ),
    path(
        "integrations/pos/connections/<uuid:connection_id>/test/",
        views.connection_pages.test,
        name="connection_test",
    ),
    path(
        "integrations/pos/connections/<uuid:connection_id>/sync/",
        views.connection_pages.sync,
        name="connection_sync",
    ),
    path(
        "integrations/pos/connections/<uuid:connection_id>/backfill/",
        views.connection_pages.backfill,
        name="connection_backfill",
    ),
    path("pos/", views.dashboard, name="dashboard"),
    path("pos/transactions/", views.transaction_list, name="transactions"),
    path("pos/transactions/export.csv", views.transaction_export, name="transactions_export"),
    path(
        "pos/transactions/<uuid:transaction_id>/",
        views.transaction_detail,
        name="transaction",
    ),
    path(
        "pos/transactions/<uuid:transaction_id>/retry/",
        views.transaction_retry,
        name="transaction_retry",
    ),
    path("pos/monitor/", views.monitor, name="monitor"),
    path("pos/monitor/updates/", views.monitor_updates, name="monitor_updates"),
    path("pos/sync-runs/<uuid:sync_run_id>/", views.connection_pages.sync_run, name="sync_run"),
]
