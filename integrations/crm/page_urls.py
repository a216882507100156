"""Tenant pages of the CRM, mounted at the site root. The connection actions sit under
integrations/crm/ beside the POS ones, named alike (the Integrations page builds them by
namespace)."""

from django.urls import path

from integrations.crm import views

app_name = "crm"

urlpatterns = [
    path(
        "integrations/crm/<slug:platform>/connect/",
        views.connection_pages.connect,
        name="connection_connect",
    ),
    path(
        "integrations/crm/connections/<uuid:connection_id>/rename/",
        views.connection_pages.rename,
        name="connection_rename",
    ),
    path(
        "integrations/crm/connections/<uuid:connection_id>/disconnect/",
        views.connection_pages.disconnect,
        name="connection_disconnect",
    ),
    path(
        "integrations/crm/connections/<uuid:connection_id>/test/",
        views.connection_pages.test,
        name="connection_test",
    ),
    path(
        "integrations/crm/connections/<uuid:connection_id>/sync/",
        views.connection_pages.sync,
        name="connection_sync",
    ),
    path(
        "integrations/crm/connections/<uuid:connection_id>/backfill/",
        views.connection_pages.backfill,
        name="connection_backfill",
    ),
    path("crm/", views.dashboard, name="dashboard"),
    path(
        "crm/connections/<uuid:connection_id>/settings/",
        views.connection_pages.settings,
        name="connection_settings",
    ),
    path("crm/deals/", views.deal_list, name="deals"),
    path("crm/deals/export.csv", views.deal_export, name="deals_export"),
    path("crm/deals/<uuid:deal_id>/", views.deal_detail, name="deal"),
    path("crm/deals/<uuid:deal_id>/retry/", views.deal_retry, name="deal_retry"),
    path("crm/sync-runs/<uuid:sync_run_id>/", views.connection_pages.sync_run, name="sync_run"),
]
